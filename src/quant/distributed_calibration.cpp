#include "oacim/quant/distributed_calibration.hpp"

#include <fmt/format.h>

#include "oacim/core/error.hpp"
#include "oacim/dist/payload.hpp"
#include "oacim/model/model_loader.hpp"

namespace oacim::quant {

namespace {

// A share as one message: its indices, then one part per sample.
std::string share_to_bytes(const model::CalibrationShare& share) {
  std::vector<std::string> parts{dist::to_bytes(share.index)};
  for (const std::vector<int>& s : share.samples) parts.push_back(dist::to_bytes(s));
  return dist::join_parts(parts);
}

model::CalibrationShare share_from_bytes(const std::string& bytes) {
  const std::vector<std::string> parts = dist::split_parts(bytes, "calibration share");
  if (parts.empty()) throw FormatError("calibration share", "holds no indices");
  model::CalibrationShare share;
  share.index = dist::from_bytes<int>(parts[0], "calibration share indices");
  for (std::size_t i = 1; i < parts.size(); ++i) share.samples.push_back(dist::from_bytes<int>(parts[i], "calibration sample"));
  return share;
}

}  // namespace

TokenSamples generate_calibration_on_ranks(const model::LoadedModel& m, const model::CalibrationGenOptions& o,
                                           dist::Communicator& comm, const std::function<void(int, int)>& progress) {
  const model::CalibrationShare mine = model::generate_calibration_share(m, o, comm.rank(), comm.size(), progress);
  if (!comm.distributed()) return model::assemble_calibration(m, o, {mine});
  std::vector<model::CalibrationShare> shares;
  for (const std::string& bytes : comm.all_gather(share_to_bytes(mine))) shares.push_back(share_from_bytes(bytes));
  return model::assemble_calibration(m, o, std::move(shares));
}

TokenSamples generate_calibration_on_ranks(const std::string& model_path, const std::string& tokenizer_path,
                                           const model::CalibrationGenOptions& o, dist::Communicator& comm,
                                           const std::function<void(int, int)>& progress) {
  const model::LoadedModel m = model::load_model(model_path, tokenizer_path);
  if (m.quantized) {
    throw InvalidArgument("model_path", fmt::format("{} is already quantized; calibration text comes from the float model", model_path));
  }
  return generate_calibration_on_ranks(m, o, comm, progress);
}

}  // namespace oacim::quant
