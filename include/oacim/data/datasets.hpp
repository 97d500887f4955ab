#pragma once
// The text and tokens of the named evaluation and calibration datasets, as the GPTQ/SpQR/OA-CIM
// loaders build them (docs/algorithms.md E.2). No torch.
#include <functional>
#include <string>
#include <vector>

namespace oacim::data {

// Text of a named dataset as the protocol builds it, from files in `data_dir`:
//   wikitext2  wiki.test.raw, rows (lines with their newline) joined with "\n\n"
//   ptb        ptb.valid.txt, lines joined with "\n\n";  ptb-new: ptb.test.txt, lines joined with " "
// Anything else is read as a plain text file. Throws FormatError / InvalidArgument naming the file.
// c4 / c4-new are built from documents: use dataset_tokens.
std::string dataset_text(const std::string& name_or_file, const std::string& data_dir);
// The token stream a perplexity run cuts into windows of `seqlen`: c4 and c4-new from the C4
// validation shard in `data_dir` (c4.hpp), anything else dataset_text in one tokenizer call.
std::vector<int> dataset_tokens(const std::string& name_or_file, const std::string& data_dir,
                                const std::function<std::vector<int>(const std::string&)>& tokenize, int seqlen);

}  // namespace oacim::data
