#pragma once
// Error types thrown at oacim's boundaries. Every message names the file (or option), the key and
// the reason, so a user can fix the input without reading code.
#include <stdexcept>
#include <string>

namespace oacim {

// Base of all oacim errors.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file on disk is malformed: truncated, inconsistent header, unknown dtype, missing tensor.
class FormatError : public Error {
 public:
  FormatError(const std::string& file, const std::string& reason);
  const std::string& file() const { return file_; }
  const std::string& reason() const { return reason_; }  // the message without the file

 private:
  std::string file_;
  std::string reason_;
};

// A value given by the user (CLI option, config key, API argument) is invalid.
class InvalidArgument : public Error {
 public:
  InvalidArgument(const std::string& key, const std::string& reason);
  const std::string& key() const { return key_; }
  const std::string& reason() const { return reason_; }  // the message without the key

 private:
  std::string key_;
  std::string reason_;
};

// A configuration file (YAML) is invalid: names the file, the line (1-based, 0 when unknown), the
// dotted key and the reason. A usage error, like InvalidArgument.
class ConfigError : public InvalidArgument {
 public:
  ConfigError(const std::string& file, int line, const std::string& key, const std::string& reason);
  const std::string& file() const { return file_; }
  int line() const { return line_; }

 private:
  std::string file_;
  int line_;
};

// An internal invariant of a data structure does not hold (e.g. a PackedCimWeights built from
// inconsistent parts). Raised on construction, never later.
class InvariantError : public Error {
 public:
  using Error::Error;
};

}  // namespace oacim
