// Names used by the scenario format: signals, errno values, clone flags, wait
// options, poll bits, prctl options. The format writes everything by name; the
// model and the oracle translate names to numbers here and nowhere else.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pidlab::names {

// ---- signals ----------------------------------------------------------------
inline constexpr int kSIGHUP = 1, kSIGINT = 2, kSIGQUIT = 3, kSIGKILL = 9, kSIGUSR1 = 10,
                     kSIGUSR2 = 12, kSIGTERM = 15, kSIGCHLD = 17, kSIGCONT = 18, kSIGSTOP = 19;
inline constexpr int kNSIG = 64;  // _NSIG: valid_signal(sig) is 0 <= sig <= 64

// "SIGCHLD" -> 17; "SIGRTMIN+3" -> 35; nullopt when unknown.
std::optional<int> signal_number(std::string_view name);
// 17 -> "SIGCHLD"; 0 -> "0"; an unnamed number prints as its decimal value.
std::string signal_name(int sig);

// ---- errno ------------------------------------------------------------------
std::optional<int> errno_number(std::string_view name);
std::string errno_name(int err);

// ---- clone flags (semantic: the same names mean the same thing in every
// kernel revision; which *bit* carries a name is a property of the revision) --
enum CloneFlag : uint64_t {
    CF_VM = 0x100,
    CF_FS = 0x200,
    CF_FILES = 0x400,
    CF_SIGHAND = 0x800,
    CF_PIDFD = 0x1000,
    CF_PTRACE = 0x2000,
    CF_VFORK = 0x4000,
    CF_PARENT = 0x8000,
    CF_THREAD = 0x10000,
    CF_NEWNS = 0x20000,
    CF_SYSVSEM = 0x40000,
    CF_SETTLS = 0x80000,
    CF_PARENT_SETTID = 0x100000,
    CF_CHILD_CLEARTID = 0x200000,
    CF_DETACHED = 0x400000,
    CF_UNTRACED = 0x800000,
    CF_CHILD_SETTID = 0x1000000,
    CF_NEWCGROUP = 0x2000000,
    CF_NEWUTS = 0x4000000,
    CF_NEWIPC = 0x8000000,
    CF_NEWUSER = 0x10000000,
    CF_NEWPID = 0x20000000,
    CF_NEWNET = 0x40000000,
    CF_IO = 0x80000000ULL,
    CF_CLEAR_SIGHAND = 0x100000000ULL,
    CF_INTO_CGROUP = 0x200000000ULL,
    // The three 7.1 flags, at their mainline bits (include/uapi/linux/sched.h).
    CF_AUTOREAP = 1ULL << 34,
    CF_NNP = 1ULL << 35,
    CF_PIDFD_AUTOKILL = 1ULL << 36,
};
inline constexpr uint64_t kCloneNewFlags = CF_AUTOREAP | CF_NNP | CF_PIDFD_AUTOKILL;
// Namespaces: accepted by validation, not modelled when a clone with them succeeds.
inline constexpr uint64_t kCloneNamespaceFlags =
    CF_NEWNS | CF_NEWCGROUP | CF_NEWUTS | CF_NEWIPC | CF_NEWUSER | CF_NEWPID | CF_NEWNET;

std::optional<uint64_t> clone_flag(std::string_view name);
std::string clone_flags_string(uint64_t flags);  // "CLONE_PIDFD|CLONE_AUTOREAP"

// ---- wait -------------------------------------------------------------------
enum WaitOption : unsigned {
    W_NOHANG = 0x1,
    W_UNTRACED = 0x2,  // WSTOPPED for waitid
    W_EXITED = 0x4,
    W_CONTINUED = 0x8,
    W_NOWAIT = 0x01000000,
    W_NOTHREAD = 0x20000000,
    W_ALL = 0x40000000,
    W_CLONE = 0x80000000,
};
std::optional<unsigned> wait_option(std::string_view name);
std::string wait_options_string(unsigned options);

// ---- poll -------------------------------------------------------------------
enum PollBit : unsigned { P_IN = 0x1, P_PRI = 0x2, P_OUT = 0x4, P_ERR = 0x8, P_HUP = 0x10, P_NVAL = 0x20 };
std::optional<unsigned> poll_bit(std::string_view name);
std::vector<std::string> poll_names(unsigned revents);

// ---- misc -------------------------------------------------------------------
inline constexpr unsigned kPIDFD_NONBLOCK = 04000;   // O_NONBLOCK
inline constexpr unsigned kPIDFD_THREAD = 0200;      // O_EXCL
std::optional<unsigned> pidfd_flag(std::string_view name);

inline constexpr unsigned kSA_NOCLDWAIT = 2;
std::optional<unsigned> sigaction_flag(std::string_view name);

bool is_identifier(std::string_view s);

}  // namespace pidlab::names
