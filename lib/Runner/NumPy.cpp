//===- NumPy.cpp - Reading and writing .npy files ---------------*- C++ -*-===//
//
// A reader and writer of the format described in numpy/lib/format.py: a magic
// string, a version, a little-endian header length, and a Python dict literal
// {'descr': ..., 'fortran_order': ..., 'shape': (...)} before the raw data.
//
//===----------------------------------------------------------------------===//

#include "qat/Runner/NumPy.h"
#include "qat/Runner/OutputFile.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::qat;
using llvm::createStringError;
using llvm::inconvertibleErrorCode;

static constexpr StringLiteral kMagic("\x93NUMPY");

namespace {
/// The header dict, as far as the format defines it.
struct NpyHeader {
  std::string descr;
  bool fortranOrder = false;
  SmallVector<int64_t> shape;
};

/// A parser of the Python literal that numpy writes. It accepts the general
/// syntax (any key order, either quote, optional trailing commas and spaces)
/// so that files written by other tools are read too.
class HeaderParser {
public:
  explicit HeaderParser(StringRef text) : text(text) {}

  llvm::Expected<NpyHeader> parse() {
    NpyHeader header;
    bool seenDescr = false, seenOrder = false, seenShape = false;
    if (!consume('{'))
      return fail("expected '{'");
    while (!consume('}')) {
      std::string key;
      if (!parseString(key))
        return fail("expected a quoted key");
      if (!consume(':'))
        return fail("expected ':' after '" + key + "'");
      if (key == "descr") {
        skipSpace();
        if (peek() == '[')
          return createStringError(
              inconvertibleErrorCode(),
              "structured (record) dtypes are not supported");
        if (!parseString(header.descr))
          return fail("expected a string after 'descr'");
        seenDescr = true;
      } else if (key == "fortran_order") {
        if (consumeWord("True"))
          header.fortranOrder = true;
        else if (consumeWord("False"))
          header.fortranOrder = false;
        else
          return fail("expected True or False after 'fortran_order'");
        seenOrder = true;
      } else if (key == "shape") {
        if (failed(parseShape(header.shape)))
          return fail("expected a tuple of sizes after 'shape'");
        seenShape = true;
      } else {
        return fail("unexpected key '" + key + "'");
      }
      if (!consume(',')) {
        if (!consume('}'))
          return fail("expected ',' or '}'");
        break;
      }
    }
    if (!seenDescr || !seenOrder || !seenShape)
      return fail("'descr', 'fortran_order' and 'shape' are required");
    return header;
  }

private:
  llvm::Error fail(const Twine &what) {
    return createStringError(inconvertibleErrorCode(),
                             "corrupt header: " + what + " at offset " +
                                 Twine(pos) + " of \"" + text.trim() + "\"");
  }
  void skipSpace() {
    while (pos < text.size() && llvm::isSpace(text[pos]))
      ++pos;
  }
  char peek() { return pos < text.size() ? text[pos] : '\0'; }
  bool consume(char c) {
    skipSpace();
    if (peek() != c)
      return false;
    ++pos;
    return true;
  }
  bool consumeWord(StringRef word) {
    skipSpace();
    if (!text.substr(pos).starts_with(word))
      return false;
    pos += word.size();
    return true;
  }
  bool parseString(std::string &out) {
    skipSpace();
    char quote = peek();
    if (quote != '\'' && quote != '"')
      return false;
    size_t end = text.find(quote, pos + 1);
    if (end == StringRef::npos)
      return false;
    out = text.slice(pos + 1, end).str();
    pos = end + 1;
    return true;
  }
  LogicalResult parseShape(SmallVectorImpl<int64_t> &shape) {
    if (!consume('('))
      return failure();
    while (!consume(')')) {
      skipSpace();
      size_t start = pos;
      while (pos < text.size() && llvm::isDigit(text[pos]))
        ++pos;
      int64_t size;
      // Python 2 era writers append 'L' to longs.
      if (text.slice(start, pos).getAsInteger(10, size))
        return failure();
      if (peek() == 'L')
        ++pos;
      shape.push_back(size);
      if (!consume(',')) {
        if (!consume(')'))
          return failure();
        break;
      }
    }
    return success();
  }

  StringRef text;
  size_t pos = 0;
};
} // namespace

/// Maps a descr such as '<f4' to a DType and whether the data must be
/// byte-swapped; fails with numpy's name of anything else.
static llvm::Expected<std::pair<DType, bool>> parseDescr(StringRef descr) {
  auto unsupported = [&](StringRef name) -> llvm::Error {
    return createStringError(
        inconvertibleErrorCode(),
        "unsupported dtype " + name + " (descr '" + descr +
            "'); qat-run reads bool, int8, int16, int32, int64, float16, "
            "float32 and float64");
  };
  if (descr.size() < 3 || !StringRef("<>|=").contains(descr[0]))
    return unsupported("'" + descr.str() + "'");
  char kind = descr[1];
  unsigned size;
  if (descr.drop_front(2).getAsInteger(10, size))
    return unsupported("'" + descr.str() + "'");
  bool swap = size > 1 && (descr[0] == '>') == llvm::sys::IsLittleEndianHost;
  switch (kind) {
  case 'f':
    if (size == 2)
      return std::make_pair(DType::F16, swap);
    if (size == 4)
      return std::make_pair(DType::F32, swap);
    if (size == 8)
      return std::make_pair(DType::F64, swap);
    return unsupported("float" + std::to_string(size * 8));
  case 'i':
    if (size == 1)
      return std::make_pair(DType::I8, swap);
    if (size == 2)
      return std::make_pair(DType::I16, swap);
    if (size == 4)
      return std::make_pair(DType::I32, swap);
    if (size == 8)
      return std::make_pair(DType::I64, swap);
    return unsupported("int" + std::to_string(size * 8));
  case 'b':
    if (size == 1)
      return std::make_pair(DType::I1, false);
    return unsupported("'" + descr.str() + "'");
  case 'u':
    return unsupported("uint" + std::to_string(size * 8));
  case 'c':
    return unsupported("complex" + std::to_string(size * 8));
  case 'O':
    return unsupported("object");
  case 'U':
  case 'S':
    return unsupported("string");
  case 'V':
    return unsupported("void (raw bytes, e.g. ml_dtypes.bfloat16)");
  default:
    return unsupported("'" + descr.str() + "'");
  }
}

llvm::Expected<NpyArray> mlir::qat::readNpy(StringRef path) {
  auto fileError = [&](const Twine &what) {
    return createStringError(inconvertibleErrorCode(),
                             "'" + path + "': " + what);
  };
  auto fileOrErr =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (std::error_code ec = fileOrErr.getError())
    return fileError("cannot read the file: " + ec.message());
  StringRef bytes = (*fileOrErr)->getBuffer();

  if (!bytes.starts_with(kMagic))
    return fileError("not a .npy file (it does not start with the "
                     "\"\\x93NUMPY\" magic string of numpy.save)");
  if (bytes.size() < 10)
    return fileError("truncated .npy file (no header)");
  unsigned major = static_cast<uint8_t>(bytes[6]);
  size_t headerStart, headerLen;
  if (major == 1) {
    headerStart = 10;
    headerLen = llvm::support::endian::read16le(bytes.data() + 8);
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return fileError("truncated .npy file (no header)");
    headerStart = 12;
    headerLen = llvm::support::endian::read32le(bytes.data() + 8);
  } else {
    return fileError("unsupported .npy format version " + Twine(major) +
                     " (1, 2 and 3 are known)");
  }
  if (bytes.size() < headerStart + headerLen)
    return fileError("truncated .npy file (header of " + Twine(headerLen) +
                     " bytes, file of " + Twine(bytes.size()) + ")");

  auto headerOrErr = HeaderParser(bytes.substr(headerStart, headerLen)).parse();
  if (!headerOrErr)
    return fileError(llvm::toString(headerOrErr.takeError()));
  NpyHeader &header = *headerOrErr;
  if (header.fortranOrder)
    return fileError(
        "the array is in Fortran order (fortran_order: True); qat-run needs "
        "C order: save np.ascontiguousarray(a) instead");

  auto descrOrErr = parseDescr(header.descr);
  if (!descrOrErr)
    return fileError(llvm::toString(descrOrErr.takeError()));
  auto [dtype, swap] = *descrOrErr;

  std::optional<int64_t> numElements = getNumElements(header.shape);
  unsigned elementSize = getDTypeSize(dtype);
  if (!numElements ||
      *numElements > std::numeric_limits<int64_t>::max() / elementSize)
    return fileError("corrupt header: shape " + formatShape(header.shape) +
                     " is too large");
  uint64_t expected = *numElements * elementSize;
  uint64_t actual = bytes.size() - headerStart - headerLen;
  if (actual != expected)
    return fileError("corrupt or truncated data: shape " +
                     formatShape(header.shape) + " of " + getDTypeName(dtype) +
                     " needs " + Twine(expected) + " bytes, the file holds " +
                     Twine(actual));

  NpyArray array;
  array.dtype = dtype;
  array.shape = std::move(header.shape);
  const char *begin = bytes.data() + headerStart + headerLen;
  array.data.assign(begin, begin + expected);
  if (swap)
    for (size_t i = 0; i < expected; i += elementSize)
      std::reverse(array.data.begin() + i,
                   array.data.begin() + i + elementSize);
  return array;
}

/// numpy's descr of the data writeNpy stores for `dtype`.
static StringRef getWrittenDescr(DType dtype) {
  switch (dtype) {
  case DType::F32:
  case DType::BF16:
    return "<f4";
  case DType::F64:
    return "<f8";
  case DType::F16:
    return "<f2";
  case DType::I1:
    return "|b1";
  case DType::I8:
    return "|i1";
  case DType::I16:
    return "<i2";
  case DType::I32:
    return "<i4";
  case DType::I64:
    return "<i8";
  }
  llvm_unreachable("unknown dtype");
}

llvm::Error mlir::qat::writeNpy(StringRef path, const HostTensor &tensor) {
  std::string dict =
      ("{'descr': '" + getWrittenDescr(tensor.getDType()) +
       "', 'fortran_order': False, 'shape': " + formatShape(tensor.getShape()) +
       ", }")
          .str();
  // numpy pads the header with spaces and a newline so that the data starts
  // at a multiple of 64 bytes.
  auto paddedLength = [&](size_t prefix) {
    return llvm::alignTo(prefix + dict.size() + 1, 64) - prefix;
  };
  bool version2 = paddedLength(10) > 65535;
  size_t prefix = version2 ? 12 : 10;
  size_t total = llvm::alignTo(prefix + dict.size() + 1, 64);
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict.push_back('\n');

  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return createStringError(inconvertibleErrorCode(),
                             "cannot write '" + path + "': " + ec.message());
  llvm::raw_fd_ostream &os = out.os();
  os << kMagic;
  os << static_cast<char>(version2 ? 2 : 1) << '\0';
  // The header length, little-endian, in 2 bytes (1.0) or 4 (2.0).
  for (unsigned byte = 0, e = version2 ? 4 : 2; byte < e; ++byte)
    os << static_cast<char>((dict.size() >> (8 * byte)) & 0xff);
  os << dict;

  if (tensor.getDType() == DType::BF16) {
    for (int64_t i = 0, e = tensor.getNumElements(); i < e; ++i) {
      float value = static_cast<float>(tensor.getAsDouble(i));
      char bytes[4];
      llvm::support::endian::write32le(bytes, llvm::bit_cast<uint32_t>(value));
      os.write(bytes, 4);
    }
  } else if (llvm::sys::IsLittleEndianHost) {
    os.write(tensor.getData(), tensor.getByteSize());
  } else {
    unsigned size = getDTypeSize(tensor.getDType());
    for (int64_t i = 0, e = tensor.getNumElements(); i < e; ++i)
      for (unsigned b = size; b > 0; --b)
        os << tensor.getData()[i * size + b - 1];
  }
  return finishOutputFile(out, path);
}
