#include "pcap/pcap_writer.h"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "common/status.h"

namespace pasta::pcap {

struct PcapWriter::Handles {
  pcap_t* dead = nullptr;
  pcap_dumper_t* dumper = nullptr;
  Handles() = default;
  Handles(const Handles&) = delete;
  Handles& operator=(const Handles&) = delete;
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
  // Mode 0600: the capture holds all of the namespace's traffic.
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                      S_IRUSR | S_IWUSR);
  if (fd < 0) return ErrnoToStatus(errno, "--pcap " + path);
  FILE* file = fdopen(fd, "w");
  if (file == nullptr) {
    const int err = errno;
    close(fd);
    return ErrnoToStatus(err, "--pcap " + path);
  }
  h->dumper = pcap_dump_fopen(h->dead, file);
  if (h->dumper == nullptr) {
    fclose(file);
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
