#pragma once
// oacim::frontend (libtorch): models (llama2.c, Hugging Face LLaMA/OPT/GPT-2, quantized
// directories) behind the Decoder interface with QuantLinear, the layer quantizers (RTN, GPTQ,
// OA-CIM, DiscQuant), norm tweaking and evaluation (perplexity, float reference, tasks).
// docs/library.md.
#include "oacim/hw.hpp"
#include "oacim/eval/eval_run.hpp"
#include "oacim/eval/float_reference.hpp"
#include "oacim/eval/perplexity.hpp"
#include "oacim/eval/task_scoring.hpp"
#include "oacim/model/model_loader.hpp"
#include "oacim/model/quant_linear.hpp"
#include "oacim/model/quantized_model.hpp"
#include "oacim/quant/hessian.hpp"
#include "oacim/quant/layer_quantizer.hpp"
#include "oacim/quant/quantize_run.hpp"
#include "oacim/runtime/torch_runtime.hpp"
#include "oacim/tweak/tweak_run.hpp"
