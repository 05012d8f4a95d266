#include <pcap/pcap.h>
#include <unistd.h>

#include <vector>

#include "gtest/gtest.h"
#include "pcap/pcap_writer.h"

namespace pasta::pcap {
namespace {

// What we write, libpcap reads back: frames, lengths, nanosecond stamps,
// and the file is complete after each Flush() (before the writer closes).
TEST(PcapWriterTest, RoundTripsThroughLibpcap) {
  char path[] = "/tmp/pasta-pcap-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  auto w = PcapWriter::Open(path);
  ASSERT_TRUE(w.ok()) << w.status();
  std::vector<uint8_t> a(60, 0xaa), b(1514, 0xbb);
  (*w)->Record(a, timespec{1700000000, 123456789});
  (*w)->Record(b, timespec{1700000001, 5});
  (*w)->Flush();

  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline_with_tstamp_precision(
      path, PCAP_TSTAMP_PRECISION_NANO, err);
  ASSERT_NE(p, nullptr) << err;
  EXPECT_EQ(pcap_datalink(p), DLT_EN10MB);
  pcap_pkthdr* hdr;
  const u_char* data;
  ASSERT_EQ(pcap_next_ex(p, &hdr, &data), 1);
  EXPECT_EQ(hdr->len, 60u);
  EXPECT_EQ(hdr->caplen, 60u);
  EXPECT_EQ(hdr->ts.tv_sec, 1700000000);
  EXPECT_EQ(hdr->ts.tv_usec, 123456789);
  EXPECT_EQ(data[0], 0xaa);
  ASSERT_EQ(pcap_next_ex(p, &hdr, &data), 1);
  EXPECT_EQ(hdr->len, 1514u);
  EXPECT_EQ(data[1513], 0xbb);
  EXPECT_EQ(pcap_next_ex(p, &hdr, &data), PCAP_ERROR_BREAK);  // end of file
  pcap_close(p);
  EXPECT_EQ((*w)->frames(), 2u);
  unlink(path);
}

TEST(PcapWriterTest, UnwritablePathIsOneLine) {
  auto w = PcapWriter::Open("/nonexistent/dir/x.pcap");
  ASSERT_FALSE(w.ok());
  const std::string msg(w.status().message());
  EXPECT_NE(msg.find("--pcap /nonexistent/dir/x.pcap"), std::string::npos);
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

}  // namespace
}  // namespace pasta::pcap
