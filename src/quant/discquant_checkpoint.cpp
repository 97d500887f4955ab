#include "discquant_checkpoint.hpp"

#include <filesystem>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "oacim/core/error.hpp"
#include "oacim/core/safetensors.hpp"

namespace oacim::quant {

namespace {

constexpr const char* kCheckpointFormat = "oacim-discquant-checkpoint/1";

std::vector<float> values_of(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

void write_discquant_checkpoint(const std::string& path, const std::string& key, const DiscQuantCheckpoint& c) {
  SafetensorsWriter w;
  for (const auto& L : c.layers) {
    const std::vector<std::int64_t> shape(L.x.sizes().begin(), L.x.sizes().end());
    w.add("x." + L.name, DType::F32, shape, values_of(L.x));
    if (L.m.defined()) {
      w.add("m." + L.name, DType::F32, shape, values_of(L.m));
      w.add("v." + L.name, DType::F32, shape, values_of(L.v));
    }
  }
  nlohmann::json log = nlohmann::json::array();
  for (const DiscQuantStep& st : c.log) log.push_back({st.step, st.lr, st.kl, st.fractional, st.group});
  w.set_metadata("oacim.format", kCheckpointFormat);
  w.set_metadata("oacim.key", key);
  w.set_metadata("oacim.group", std::to_string(c.group));
  w.set_metadata("oacim.step", std::to_string(c.step));
  w.set_metadata("oacim.window", std::to_string(c.window));
  w.set_metadata("oacim.adam_steps", std::to_string(c.adam_steps));
  w.set_metadata("oacim.log", log.dump());
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  w.write(path);
}

DiscQuantCheckpoint read_discquant_checkpoint(const std::string& path, const std::string& key,
                                              const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& shapes) {
  const SafetensorsFile f = SafetensorsFile::open(path);
  if (!f.metadata().count("oacim.format") || f.metadata_value("oacim.format") != kCheckpointFormat ||
      f.metadata_value("oacim.key") != key) {
    throw FormatError(f.path(), "a DiscQuant checkpoint of another model or other options; remove it or use another --out");
  }
  DiscQuantCheckpoint c;
  try {
    c.group = std::stoi(f.metadata_value("oacim.group"));
    c.step = std::stoi(f.metadata_value("oacim.step"));
    c.window = std::stoull(f.metadata_value("oacim.window"));
    c.adam_steps = std::stol(f.metadata_value("oacim.adam_steps"));
    for (const auto& e : nlohmann::json::parse(f.metadata_value("oacim.log"))) {
      DiscQuantStep st;
      st.step = e.at(0);
      st.lr = e.at(1);
      st.kl = e.at(2);
      st.fractional = e.at(3);
      st.group = e.at(4);
      c.log.push_back(st);
    }
  } catch (const std::exception& e) {
    throw FormatError(f.path(), std::string("unreadable checkpoint state: ") + e.what());
  }
  for (const auto& [name, shape] : shapes) {
    auto load = [&, &shape = shape](const std::string& tensor) {
      std::vector<float> v = f.read<float>(tensor, DType::F32, shape);
      return at::from_blob(v.data(), shape, at::TensorOptions().dtype(at::kFloat)).clone();
    };
    DiscQuantCheckpoint::Layer L;
    L.name = name;
    L.x = load("x." + name);
    if (f.contains("m." + name)) {
      L.m = load("m." + name);
      L.v = load("v." + name);
    }
    c.layers.push_back(std::move(L));
  }
  return c;
}

}  // namespace oacim::quant
