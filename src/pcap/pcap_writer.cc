#include "pcap/pcap_writer.h"

#include <pcap/pcap.h>

#include "common/status.h"

namespace pasta::pcap {

struct PcapWriter::Handles {
  pcap_t* dead = nullptr;
  pcap_dumper_t* dumper = nullptr;
  ~Handles() {
    if (dumper != nullptr) pcap_dump_close(dumper);
    if (dead != nullptr) pcap_close(dead);
  }
};

absl::StatusOr<std::unique_ptr<PcapWriter>> PcapWriter::Open(
    const std::string& path) {
  auto h = std::make_unique<Handles>();
  // Snap length: the largest frame the tap carries.
  h->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65536,
                                                 PCAP_TSTAMP_PRECISION_NANO);
  if (h->dead == nullptr)
    return absl::InternalError("--pcap: pcap_open_dead failed");
  h->dumper = pcap_dump_open(h->dead, path.c_str());
  if (h->dumper == nullptr) {
    return absl::InvalidArgumentError("--pcap " + path + ": " +
                                      pcap_geterr(h->dead));
  }
  pcap_dump_flush(h->dumper);
  return std::unique_ptr<PcapWriter>(new PcapWriter(std::move(h)));
}

PcapWriter::PcapWriter(std::unique_ptr<Handles> h) : h_(std::move(h)) {}

PcapWriter::~PcapWriter() { Flush(); }

void PcapWriter::Record(absl::Span<const uint8_t> frame, const timespec& ts) {
  pcap_pkthdr hdr;
  hdr.ts.tv_sec = ts.tv_sec;
  // With nanosecond precision, libpcap stores tv_usec as nanoseconds.
  hdr.ts.tv_usec = static_cast<suseconds_t>(ts.tv_nsec);
  hdr.caplen = static_cast<bpf_u_int32>(frame.size());
  hdr.len = static_cast<bpf_u_int32>(frame.size());
  pcap_dump(reinterpret_cast<u_char*>(h_->dumper), &hdr, frame.data());
  dirty_ = true;
  ++frames_;
}

void PcapWriter::Record(absl::Span<const uint8_t> frame) {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  Record(frame, ts);
}

void PcapWriter::Flush() {
  if (!dirty_) return;
  pcap_dump_flush(h_->dumper);
  dirty_ = false;
}

}  // namespace pasta::pcap
