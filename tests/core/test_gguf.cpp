// The GGUF reader: llama.cpp's own vocabulary files (metadata as llama.cpp's writer stored it),
// files the test writes with every metadata type and a tensor of each block format whose values
// are computed here by hand, and malformed files refused with their file and reason.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "oacim/core/error.hpp"
#include "oacim/core/fp16.hpp"
#include "oacim/core/gguf.hpp"

namespace oacim {
namespace {

const std::string kDir = std::string(OACIM_SOURCE_DIR) + "/tests/data/tokenizers/";

// Builds a GGUF file in memory, field by field.
struct Writer {
  std::string out;
  template <class T>
  Writer& put(T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
    return *this;
  }
  Writer& str(const std::string& s) {
    put<std::uint64_t>(s.size());
    out += s;
    return *this;
  }
  Writer& header(std::uint64_t tensors, std::uint64_t kv, std::uint32_t version = 3) {
    return put<std::uint32_t>(0x46554747).put<std::uint32_t>(version).put(tensors).put(kv);
  }
  Writer& align(std::size_t a = 32) {
    while (out.size() % a != 0) out += '\0';
    return *this;
  }
};

std::uint16_t h(float v) { return fp16_bits_from_float(v); }

TEST(Gguf, ReadsLlamaCppsLlamaVocabulary) {
  const GgufFile f = GgufFile::open(kDir + "ggml-vocab-llama-spm.gguf");
  EXPECT_EQ(f.version(), 3u);
  EXPECT_TRUE(f.tensors().empty());  // a vocabulary-only file
  EXPECT_EQ(f.string_value("general.architecture"), "llama");
  EXPECT_EQ(f.string_value("tokenizer.ggml.model"), "llama");
  const auto tokens = f.strings_value("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 32000u);
  EXPECT_EQ(tokens[0], "<unk>");
  EXPECT_EQ(tokens[1], "<s>");
  EXPECT_EQ(tokens[2], "</s>");
  EXPECT_EQ(tokens[3], "<0x00>");  // byte-fallback pieces
  EXPECT_EQ(f.floats_value("tokenizer.ggml.scores").size(), 32000u);
  EXPECT_EQ(f.ints_value("tokenizer.ggml.token_type").size(), 32000u);
  EXPECT_EQ(f.int_value("tokenizer.ggml.bos_token_id"), 1);
  EXPECT_EQ(f.int_value("tokenizer.ggml.eos_token_id"), 2);
  EXPECT_EQ(f.value("tokenizer.ggml.add_bos_token").type, GgufType::Bool);
  EXPECT_TRUE(std::get<bool>(f.value("tokenizer.ggml.add_bos_token").scalar));
  try {
    (void)f.int_value("tokenizer.ggml.add_bos_token");
    FAIL() << "a bool read as an integer";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("ggml-vocab-llama-spm.gguf: metadata key 'tokenizer.ggml.add_bos_token' is bool, not an integer"),
              std::string::npos)
        << e.what();
  }
}

TEST(Gguf, ReadsLlamaCppsGpt2VocabularyWithMerges) {
  const GgufFile f = GgufFile::open(kDir + "ggml-vocab-gpt-2.gguf");
  EXPECT_EQ(f.string_value("tokenizer.ggml.model"), "gpt2");
  EXPECT_EQ(f.int_value("gpt2.block_count"), 12);
  EXPECT_EQ(f.int_value("gpt2.embedding_length"), 768);
  EXPECT_FLOAT_EQ(static_cast<float>(f.float_value("gpt2.attention.layer_norm_epsilon")), 1e-5f);
  const auto tokens = f.strings_value("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 50257u);
  EXPECT_EQ(tokens[0], "!");
  EXPECT_EQ(tokens[50256], "<|endoftext|>");
  const auto merges = f.strings_value("tokenizer.ggml.merges");
  ASSERT_EQ(merges.size(), 50000u);
  EXPECT_EQ(merges[0], "\xC4\xA0 t");  // "Ġ t", GPT-2's first merge
  EXPECT_THROW((void)f.string_value("no.such.key"), FormatError);
}

TEST(Gguf, EveryMetadataTypeRoundTrips) {
  Writer w;
  w.header(0, 13);
  w.str("u8").put<std::uint32_t>(0).put<std::uint8_t>(250);
  w.str("i8").put<std::uint32_t>(1).put<std::int8_t>(-5);
  w.str("u16").put<std::uint32_t>(2).put<std::uint16_t>(65000);
  w.str("i16").put<std::uint32_t>(3).put<std::int16_t>(-30000);
  w.str("u32").put<std::uint32_t>(4).put<std::uint32_t>(4000000000u);
  w.str("i32").put<std::uint32_t>(5).put<std::int32_t>(-2000000000);
  w.str("f32").put<std::uint32_t>(6).put<float>(1.5f);
  w.str("bool").put<std::uint32_t>(7).put<std::uint8_t>(1);
  w.str("string").put<std::uint32_t>(8).str("héllo");
  w.str("array").put<std::uint32_t>(9).put<std::uint32_t>(5).put<std::uint64_t>(3).put<std::int32_t>(7).put<std::int32_t>(-8).put<std::int32_t>(9);
  w.str("u64").put<std::uint32_t>(10).put<std::uint64_t>(1ull << 40);
  w.str("i64").put<std::uint32_t>(11).put<std::int64_t>(-(1ll << 40));
  w.str("f64").put<std::uint32_t>(12).put<double>(-2.25);
  const GgufFile f = GgufFile::from_bytes(w.out, "meta.gguf");
  EXPECT_EQ(f.int_value("u8"), 250);
  EXPECT_EQ(f.int_value("i8"), -5);
  EXPECT_EQ(f.int_value("u16"), 65000);
  EXPECT_EQ(f.int_value("i16"), -30000);
  EXPECT_EQ(f.int_value("u32"), 4000000000ll);
  EXPECT_EQ(f.int_value("i32"), -2000000000);
  EXPECT_EQ(f.float_value("f32"), 1.5);
  EXPECT_TRUE(std::get<bool>(f.value("bool").scalar));
  EXPECT_EQ(f.string_value("string"), "héllo");
  EXPECT_EQ(f.ints_value("array"), (std::vector<std::int64_t>{7, -8, 9}));
  EXPECT_EQ(f.int_value("u64"), 1ll << 40);
  EXPECT_EQ(f.int_value("i64"), -(1ll << 40));
  EXPECT_EQ(f.float_value("f64"), -2.25);
}

// One tensor per block format, each one block (or row) long, with values computed by hand.
TEST(Gguf, BlockFormatsDequantizeAsGgmlDoes) {
  std::vector<std::pair<std::string, std::uint32_t>> names = {{"f32", 0}, {"f16", 1}, {"bf16", 30}, {"q4_0", 2},
                                                              {"q4_1", 3}, {"q8_0", 8}, {"q4_k", 12}};
  std::vector<std::string> data(names.size());
  // f32: 4 values; f16: 0.5 twice; bf16: 1.0 and -2.0 (0x3F80, 0xC000).
  for (float v : {1.0f, -2.5f, 3.25f, 0.0f}) data[0].append(reinterpret_cast<const char*>(&v), 4);
  for (int i = 0; i < 2; ++i) {
    const std::uint16_t b = h(0.5f);
    data[1].append(reinterpret_cast<const char*>(&b), 2);
  }
  for (std::uint16_t b : {std::uint16_t{0x3F80}, std::uint16_t{0xC000}}) data[2].append(reinterpret_cast<const char*>(&b), 2);
  {  // q4_0: d = 0.5; byte j holds codes j (low) and 15 - j (high): weight j = (j - 8) * 0.5, weight 16+j = (7 - j) * 0.5
    const std::uint16_t d = h(0.5f);
    data[3].append(reinterpret_cast<const char*>(&d), 2);
    for (int j = 0; j < 16; ++j) data[3] += static_cast<char>(j | ((15 - j) << 4));
  }
  {  // q4_1: d = 0.25, m = -1: weight j = j * 0.25 - 1, weight 16+j = (15 - j) * 0.25 - 1
    const std::uint16_t d = h(0.25f), m = h(-1.0f);
    data[4].append(reinterpret_cast<const char*>(&d), 2).append(reinterpret_cast<const char*>(&m), 2);
    for (int j = 0; j < 16; ++j) data[4] += static_cast<char>(j | ((15 - j) << 4));
  }
  {  // q8_0: d = 0.125; codes -16..15: weight j = (j - 16) * 0.125
    const std::uint16_t d = h(0.125f);
    data[5].append(reinterpret_cast<const char*>(&d), 2);
    for (int j = 0; j < 32; ++j) data[5] += static_cast<char>(static_cast<std::int8_t>(j - 16));
  }
  {  // q4_k: d = 1, dmin = 0.5; sub-block s has scale s+1 and min s (6-bit, packed as get_scale_min_k4
     // reads them); every nibble is 3: weight of sub-block s = (s + 1) * 3 - 0.5 * s.
    const std::uint16_t d = h(1.0f), dmin = h(0.5f);
    data[6].append(reinterpret_cast<const char*>(&d), 2).append(reinterpret_cast<const char*>(&dmin), 2);
    std::uint8_t sc[12] = {};
    for (int s = 0; s < 8; ++s) {
      const int scale = s + 1, min = s;
      if (s < 4) {
        sc[s] = static_cast<std::uint8_t>(scale);
        sc[s + 4] = static_cast<std::uint8_t>(min);
      } else {  // low 4 bits in byte s+4, high 2 bits in the top of bytes s-4 (scale) and s (min)
        sc[s + 4] = static_cast<std::uint8_t>((scale & 0xF) | ((min & 0xF) << 4));
        sc[s - 4] = static_cast<std::uint8_t>(sc[s - 4] | ((scale >> 4) << 6));
        sc[s] = static_cast<std::uint8_t>(sc[s] | ((min >> 4) << 6));
      }
    }
    data[6].append(reinterpret_cast<const char*>(sc), 12);
    data[6].append(128, static_cast<char>(0x33));
  }
  const std::vector<std::vector<std::int64_t>> shapes = {{4}, {2}, {2}, {32}, {32}, {32}, {256}};
  Writer w;
  w.header(names.size(), 1).str("general.alignment").put<std::uint32_t>(4).put<std::uint32_t>(64);
  std::uint64_t offset = 0;
  std::vector<std::uint64_t> offsets;
  for (std::size_t i = 0; i < names.size(); ++i) {
    w.str(names[i].first).put<std::uint32_t>(1).put<std::uint64_t>(static_cast<std::uint64_t>(shapes[i][0]));
    w.put<std::uint32_t>(names[i].second).put<std::uint64_t>(offset);
    offsets.push_back(offset);
    offset += (data[i].size() + 63) / 64 * 64;
  }
  w.align(64);
  for (const std::string& d : data) {
    w.out += d;
    w.align(64);
  }
  const GgufFile f = GgufFile::from_bytes(w.out, "blocks.gguf");
  EXPECT_EQ(f.alignment(), 64u);
  auto deq = [&](const char* name) { return f.dequantize(*f.find_tensor(name)); };
  EXPECT_EQ(deq("f32"), (std::vector<float>{1.0f, -2.5f, 3.25f, 0.0f}));
  EXPECT_EQ(deq("f16"), (std::vector<float>{0.5f, 0.5f}));
  EXPECT_EQ(deq("bf16"), (std::vector<float>{1.0f, -2.0f}));
  const auto q40 = deq("q4_0"), q41 = deq("q4_1"), q80 = deq("q8_0"), q4k = deq("q4_k");
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(q40[j], (j - 8) * 0.5f);
    EXPECT_EQ(q40[16 + j], (7 - j) * 0.5f);
    EXPECT_EQ(q41[j], j * 0.25f - 1.0f);
    EXPECT_EQ(q41[16 + j], (15 - j) * 0.25f - 1.0f);
  }
  for (int j = 0; j < 32; ++j) EXPECT_EQ(q80[j], (j - 16) * 0.125f);
  for (int i = 0; i < 256; ++i) {
    const int s = i / 32;  // sub-blocks of 32: low nibbles of 32 bytes, then their high nibbles
    EXPECT_EQ(q4k[i], static_cast<float>((s + 1) * 3) - 0.5f * static_cast<float>(s)) << i;
  }
}

std::string refusal(const std::string& bytes) {
  try {
    (void)GgufFile::from_bytes(bytes, "bad.gguf");
  } catch (const FormatError& e) {
    return e.what();
  }
  return "accepted";
}

TEST(Gguf, MalformedFilesAreRefusedWithTheirReason) {
  EXPECT_NE(refusal("GGU").find("truncated"), std::string::npos);
  EXPECT_NE(refusal(Writer().put<std::uint32_t>(0x12345678).put<std::uint32_t>(3).out).find("no 'GGUF' magic"), std::string::npos);
  EXPECT_NE(refusal(Writer().header(0, 0, 1).out).find("version 1"), std::string::npos);
  EXPECT_NE(refusal(Writer().header(1ull << 40, 0).out).find("tensors, over"), std::string::npos);
  EXPECT_NE(refusal(Writer().header(0, 1).str("k").put<std::uint32_t>(13).out).find("unknown value type 13"), std::string::npos);
  EXPECT_NE(refusal(Writer().header(0, 1).str("k").put<std::uint32_t>(8).put<std::uint64_t>(1ull << 50).out).find("past the end"),
            std::string::npos);
  EXPECT_NE(refusal(Writer().header(0, 1).str("k").put<std::uint32_t>(9).put<std::uint32_t>(9).put<std::uint64_t>(1).out).find("arrays of arrays"),
            std::string::npos);
  EXPECT_NE(refusal(Writer().header(0, 1).str("k").put<std::uint32_t>(9).put<std::uint32_t>(0).put<std::uint64_t>(1ull << 60).out)
                .find("elements, over"),
            std::string::npos);
  EXPECT_NE(refusal(Writer().header(0, 1).str("k").put<std::uint32_t>(7).put<std::uint8_t>(2).out).find("bool value 2"), std::string::npos);
  EXPECT_NE(refusal(Writer().header(0, 2).str("k").put<std::uint32_t>(0).put<std::uint8_t>(1).str("k").put<std::uint32_t>(0).put<std::uint8_t>(1).out)
                .find("appears twice"),
            std::string::npos);
  EXPECT_NE(refusal(Writer().header(0, 1).str("general.alignment").put<std::uint32_t>(4).put<std::uint32_t>(3).out).find("power of two"),
            std::string::npos);
  // Tensors: too many dimensions, an offset off the alignment, data past the end, a partial block.
  EXPECT_NE(refusal(Writer().header(1, 0).str("t").put<std::uint32_t>(5).out).find("5 dimensions"), std::string::npos);
  EXPECT_NE(refusal(Writer().header(1, 0).str("t").put<std::uint32_t>(1).put<std::uint64_t>(4).put<std::uint32_t>(0).put<std::uint64_t>(3).out)
                .find("not a multiple of the alignment"),
            std::string::npos);
  EXPECT_NE(refusal(Writer().header(1, 0).str("t").put<std::uint32_t>(1).put<std::uint64_t>(1024).put<std::uint32_t>(0).put<std::uint64_t>(0).align().out)
                .find("run past the end"),
            std::string::npos);
  EXPECT_NE(refusal(Writer().header(1, 0).str("t").put<std::uint32_t>(1).put<std::uint64_t>(20).put<std::uint32_t>(2).put<std::uint64_t>(0).out)
                .find("not whole Q4_0 blocks of 32"),
            std::string::npos);
  // A type oacim does not read is listed, and refused by name when read.
  Writer q6;
  q6.header(1, 0).str("t").put<std::uint32_t>(1).put<std::uint64_t>(256).put<std::uint32_t>(14).put<std::uint64_t>(0).align();
  const GgufFile f = GgufFile::from_bytes(q6.out, "q6.gguf");
  ASSERT_EQ(f.tensors().size(), 1u);
  try {
    (void)f.dequantize(f.tensors()[0]);
    FAIL() << "Q6_K was read";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 't' is Q6_K, which oacim does not read"), std::string::npos) << e.what();
  }
}

TEST(Gguf, NonFiniteScalesAreRefusedNamingTheTensor) {
  Writer w;
  w.header(1, 0).str("w").put<std::uint32_t>(1).put<std::uint64_t>(32).put<std::uint32_t>(8).put<std::uint64_t>(0).align();
  w.put<std::uint16_t>(0x7C00);  // +Inf scale
  w.out.append(32, '\1');
  const GgufFile f = GgufFile::from_bytes(w.out, "inf.gguf");
  try {
    (void)f.dequantize(f.tensors()[0]);
    FAIL() << "an Inf scale was read";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'w': element 0 is inf"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace oacim
