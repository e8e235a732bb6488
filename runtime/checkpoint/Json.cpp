//===- Json.cpp - A small JSON parser for safetensors headers -------------===//

#include "Json.h"

#include "absl/strings/str_cat.h"

#include <cstdio>
#include <unordered_set>

namespace kiln::checkpoint::json {
namespace {

class Parser {
public:
  explicit Parser(std::string_view text) : text_(text) {}

  absl::StatusOr<Value> parseDocument() {
    Value value;
    if (absl::Status status = parseValue(value, 0); !status.ok())
      return status;
    skipSpace();
    if (pos_ != text_.size())
      return error("trailing characters after the JSON value");
    return value;
  }

private:
  absl::Status error(std::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat("bad JSON at byte ", pos_, ": ", std::string(what)));
  }

  void skipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  bool consumeLiteral(std::string_view literal) {
    if (text_.substr(pos_, literal.size()) != literal)
      return false;
    pos_ += literal.size();
    return true;
  }

  absl::Status parseValue(Value &value, int depth) {
    if (depth > kMaxJsonDepth)
      return error(absl::StrCat("nesting deeper than ", kMaxJsonDepth));
    skipSpace();
    if (pos_ >= text_.size())
      return error("unexpected end of input, expected a value");
    char c = text_[pos_];
    if (c == '{')
      return parseObject(value, depth);
    if (c == '[')
      return parseArray(value, depth);
    if (c == '"') {
      value.kind = Value::Kind::kString;
      return parseString(value.string);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
      return parseNumber(value);
    if (consumeLiteral("true") || consumeLiteral("false")) {
      value.kind = Value::Kind::kBool;
      value.boolean = c == 't';
      return absl::OkStatus();
    }
    if (consumeLiteral("null")) {
      value.kind = Value::Kind::kNull;
      return absl::OkStatus();
    }
    return error(absl::StrCat("unexpected character '", std::string(1, text_[pos_]), "'"));
  }

  absl::Status parseObject(Value &value, int depth) {
    value.kind = Value::Kind::kObject;
    ++pos_;
    skipSpace();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      ++pos_;
      return absl::OkStatus();
    }
    // Names seen so far, hashed: the duplicate check stays linear in the member count.
    std::unordered_set<std::string> seen;
    while (true) {
      skipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"')
        return error("expected a member name string");
      std::string key;
      if (absl::Status status = parseString(key); !status.ok())
        return status;
      if (!seen.insert(key).second)
        return error(absl::StrCat("duplicate member \"", key, "\""));
      skipSpace();
      if (pos_ >= text_.size() || text_[pos_] != ':')
        return error("expected ':' after a member name");
      ++pos_;
      Value member;
      if (absl::Status status = parseValue(member, depth + 1); !status.ok())
        return status;
      value.keys.push_back(std::move(key));
      value.members.push_back(std::move(member));
      skipSpace();
      if (pos_ >= text_.size())
        return error("unexpected end of input inside an object");
      if (text_[pos_] == '}') {
        ++pos_;
        return absl::OkStatus();
      }
      if (text_[pos_] != ',')
        return error("expected ',' or '}' in an object");
      ++pos_;
    }
  }

  absl::Status parseArray(Value &value, int depth) {
    value.kind = Value::Kind::kArray;
    ++pos_;
    skipSpace();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      ++pos_;
      return absl::OkStatus();
    }
    while (true) {
      Value element;
      if (absl::Status status = parseValue(element, depth + 1); !status.ok())
        return status;
      value.array.push_back(std::move(element));
      skipSpace();
      if (pos_ >= text_.size())
        return error("unexpected end of input inside an array");
      if (text_[pos_] == ']') {
        ++pos_;
        return absl::OkStatus();
      }
      if (text_[pos_] != ',')
        return error("expected ',' or ']' in an array");
      ++pos_;
    }
  }

  static void appendUtf8(std::string &out, uint32_t codePoint) {
    if (codePoint < 0x80) {
      out += static_cast<char>(codePoint);
    } else if (codePoint < 0x800) {
      out += static_cast<char>(0xC0 | (codePoint >> 6));
      out += static_cast<char>(0x80 | (codePoint & 0x3F));
    } else if (codePoint < 0x10000) {
      out += static_cast<char>(0xE0 | (codePoint >> 12));
      out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (codePoint & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (codePoint >> 18));
      out += static_cast<char>(0x80 | ((codePoint >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((codePoint >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (codePoint & 0x3F));
    }
  }

  absl::Status parseHex4(uint32_t &result) {
    if (text_.size() - pos_ < 4)
      return error("truncated \\u escape");
    result = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      uint32_t digit;
      if (c >= '0' && c <= '9')
        digit = c - '0';
      else if (c >= 'a' && c <= 'f')
        digit = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        digit = c - 'A' + 10;
      else
        return error("bad hex digit in a \\u escape");
      result = result * 16 + digit;
    }
    return absl::OkStatus();
  }

  absl::Status parseString(std::string &out) {
    ++pos_; // the opening quote
    while (true) {
      if (pos_ >= text_.size())
        return error("unterminated string");
      char c = text_[pos_++];
      if (c == '"')
        return absl::OkStatus();
      if (static_cast<unsigned char>(c) < 0x20)
        return error("control character inside a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size())
        return error("unterminated escape");
      char e = text_[pos_++];
      switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        uint32_t codePoint;
        if (absl::Status status = parseHex4(codePoint); !status.ok())
          return status;
        if (codePoint >= 0xD800 && codePoint < 0xDC00) {
          uint32_t low;
          if (!consumeLiteral("\\u"))
            return error("a high surrogate without its low surrogate");
          if (absl::Status status = parseHex4(low); !status.ok())
            return status;
          if (low < 0xDC00 || low >= 0xE000)
            return error("a high surrogate followed by a non-low surrogate");
          codePoint = 0x10000 + ((codePoint - 0xD800) << 10) + (low - 0xDC00);
        } else if (codePoint >= 0xDC00 && codePoint < 0xE000) {
          return error("a lone low surrogate");
        }
        appendUtf8(out, codePoint);
        break;
      }
      default:
        return error("unknown escape in a string");
      }
    }
  }

  absl::Status parseNumber(Value &value) {
    value.kind = Value::Kind::kNumber;
    bool negative = text_[pos_] == '-';
    if (negative)
      ++pos_;
    size_t digitsStart = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9')
      ++pos_;
    if (pos_ == digitsStart)
      return error("a number without digits");
    if (text_[digitsStart] == '0' && pos_ - digitsStart > 1)
      return error("a number with a leading zero");
    bool integer = true;
    if (pos_ < text_.size() && text_[pos_] == '.') {
      integer = false;
      ++pos_;
      size_t fractionStart = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9')
        ++pos_;
      if (pos_ == fractionStart)
        return error("a number with no digits after '.'");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      integer = false;
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-'))
        ++pos_;
      size_t exponentStart = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9')
        ++pos_;
      if (pos_ == exponentStart)
        return error("a number with an empty exponent");
    }
    if (!integer || negative)
      return absl::OkStatus();
    uint64_t result = 0;
    for (size_t i = digitsStart; i < pos_; ++i) {
      uint64_t digit = static_cast<uint64_t>(text_[i] - '0');
      if (result > (UINT64_MAX - digit) / 10)
        return absl::OkStatus(); // A valid number, just not a 64-bit unsigned one.
      result = result * 10 + digit;
    }
    value.isUnsigned = true;
    value.unsignedValue = result;
    return absl::OkStatus();
  }

  std::string_view text_;
  size_t pos_ = 0;
};

} // namespace

absl::StatusOr<Value> parse(std::string_view text) { return Parser(text).parseDocument(); }

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof(escape), "\\u%04x", static_cast<unsigned>(c));
      out += escape;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

} // namespace kiln::checkpoint::json
