#include "core/encoding.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace mica {
namespace {

TEST(EncodingTest, HexRoundTripsAndRejectsJunk) {
  Bytes b = {0x00, 0x0f, 0xa5, 0xff};
  EXPECT_EQ(ToHex(b), "000fa5ff");
  EXPECT_EQ(ToColonHex(b), "00:0F:A5:FF");
  EXPECT_EQ(*FromHex("000FA5ff"), b);
  EXPECT_EQ(*FromHex("00:0F:A5:FF"), b);
  EXPECT_FALSE(FromHex("abc").has_value());
  EXPECT_FALSE(FromHex("zz").has_value());
  EXPECT_FALSE(FromHex("a:b").has_value());
}

TEST(EncodingTest, Base64MatchesRfc4648Vectors) {
  // RFC 4648 section 10.
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},       {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : vectors) {
    EXPECT_EQ(Base64Encode(AsBytes(plain)), enc);
    auto dec = Base64Decode(enc);
    ASSERT_TRUE(dec.has_value()) << enc;
    EXPECT_EQ(AsChars(*dec), plain);
  }
  EXPECT_EQ(Base64Encode(AsBytes("fo"), /*pad=*/false), "Zm8");
}

TEST(EncodingTest, Base64SkipsWhitespaceAndRejectsJunk) {
  EXPECT_EQ(AsChars(*Base64Decode("Zm9v\r\nYmFy\n")), "foobar");
  EXPECT_EQ(AsChars(*Base64Decode("Zm8")), "fo");  // padding optional
  EXPECT_FALSE(Base64Decode("Zm9v!").has_value());
  EXPECT_FALSE(Base64Decode("Z").has_value());       // dangling character
  EXPECT_FALSE(Base64Decode("Zg==Zg==").has_value());  // data after padding
}

TEST(EncodingTest, DigestsMatchKnownAnswers) {
  EXPECT_EQ(Sha256Hex(AsBytes("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ToHex(Sha1(AsBytes("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(EncodingTest, Sha256StreamEqualsTheOneShotDigestWhateverThePieces) {
  // FIPS 180-2 appendix B.2: the two-block message, fed a byte at a time and in halves.
  const std::string msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  Sha256Stream bytes;
  for (char c : msg) bytes.Update(std::string_view(&c, 1));
  EXPECT_EQ(ToHex(bytes.Finish()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256Stream halves;
  halves.Update(std::string_view(msg).substr(0, 20));
  halves.Update(AsBytes(std::string_view(msg).substr(20)));
  EXPECT_EQ(halves.Finish(), Sha256(AsBytes(msg)));
  EXPECT_EQ(Sha256Stream().Finish(), Sha256(ByteView()));
}

TEST(EncodingTest, HmacSha256MatchesRfc4231) {
  // RFC 4231 section 4.3, test case 2: a key shorter than the block.
  EXPECT_EQ(ToHex(HmacSha256(AsBytes("Jefe"), AsBytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a 131-byte key, longer than the block, is hashed first.
  Bytes key(131, 0xaa);
  EXPECT_EQ(ToHex(HmacSha256(key, AsBytes("Test Using Larger Than Block-Size Key - Hash Key First"))),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(ErrorTest, CodesMapToDocumentedExitCodes) {
  EXPECT_EQ(ExitCodeFor(ErrorCode::kInvalidArgument), 2);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kInput), 3);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kPermission), 3);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kInternal), 4);
  EXPECT_STREQ(ErrorCodeName(ErrorCode::kEncrypted), "encrypted");
  auto wrapped = Wrap(Error{ErrorCode::kIo, "disk full"}, "writing /tmp/x");
  EXPECT_EQ(wrapped.value().message, "writing /tmp/x: disk full");
  EXPECT_EQ(wrapped.value().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace mica
