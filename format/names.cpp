#include "format/names.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>
#include <tuple>
#include <utility>

namespace pidlab::names {
namespace {

struct SigName { int num; std::string_view name; };
constexpr std::array<SigName, 31> kSignals{{
    {1, "SIGHUP"},   {2, "SIGINT"},     {3, "SIGQUIT"},  {4, "SIGILL"},   {5, "SIGTRAP"},
    {6, "SIGABRT"},  {7, "SIGBUS"},     {8, "SIGFPE"},   {9, "SIGKILL"},  {10, "SIGUSR1"},
    {11, "SIGSEGV"}, {12, "SIGUSR2"},   {13, "SIGPIPE"}, {14, "SIGALRM"}, {15, "SIGTERM"},
    {16, "SIGSTKFLT"}, {17, "SIGCHLD"}, {18, "SIGCONT"}, {19, "SIGSTOP"}, {20, "SIGTSTP"},
    {21, "SIGTTIN"}, {22, "SIGTTOU"},   {23, "SIGURG"},  {24, "SIGXCPU"}, {25, "SIGXFSZ"},
    {26, "SIGVTALRM"}, {27, "SIGPROF"}, {28, "SIGWINCH"}, {29, "SIGIO"},  {30, "SIGPWR"},
    {31, "SIGSYS"},
}};

struct ErrName { int num; std::string_view name; };
constexpr std::array<ErrName, 24> kErrnos{{
    {1, "EPERM"},   {2, "ENOENT"},  {3, "ESRCH"},   {4, "EINTR"},   {5, "EIO"},
    {7, "E2BIG"},   {9, "EBADF"},   {10, "ECHILD"}, {11, "EAGAIN"}, {12, "ENOMEM"},
    {13, "EACCES"}, {14, "EFAULT"}, {16, "EBUSY"},  {17, "EEXIST"}, {22, "EINVAL"},
    {24, "EMFILE"}, {25, "ENOTTY"}, {38, "ENOSYS"}, {66, "EREMOTE"}, {95, "EOPNOTSUPP"},
    {19, "ENODEV"}, {18, "EXDEV"},  {20, "ENOTDIR"}, {110, "ETIMEDOUT"},
}};

struct FlagName { uint64_t bit; std::string_view name; };
constexpr std::array<FlagName, 29> kCloneFlags{{
    {CF_VM, "CLONE_VM"},
    {CF_FS, "CLONE_FS"},
    {CF_FILES, "CLONE_FILES"},
    {CF_SIGHAND, "CLONE_SIGHAND"},
    {CF_PIDFD, "CLONE_PIDFD"},
    {CF_PTRACE, "CLONE_PTRACE"},
    {CF_VFORK, "CLONE_VFORK"},
    {CF_PARENT, "CLONE_PARENT"},
    {CF_THREAD, "CLONE_THREAD"},
    {CF_NEWNS, "CLONE_NEWNS"},
    {CF_SYSVSEM, "CLONE_SYSVSEM"},
    {CF_SETTLS, "CLONE_SETTLS"},
    {CF_PARENT_SETTID, "CLONE_PARENT_SETTID"},
    {CF_CHILD_CLEARTID, "CLONE_CHILD_CLEARTID"},
    {CF_DETACHED, "CLONE_DETACHED"},
    {CF_UNTRACED, "CLONE_UNTRACED"},
    {CF_CHILD_SETTID, "CLONE_CHILD_SETTID"},
    {CF_NEWCGROUP, "CLONE_NEWCGROUP"},
    {CF_NEWUTS, "CLONE_NEWUTS"},
    {CF_NEWIPC, "CLONE_NEWIPC"},
    {CF_NEWUSER, "CLONE_NEWUSER"},
    {CF_NEWPID, "CLONE_NEWPID"},
    {CF_NEWNET, "CLONE_NEWNET"},
    {CF_IO, "CLONE_IO"},
    {CF_CLEAR_SIGHAND, "CLONE_CLEAR_SIGHAND"},
    {CF_INTO_CGROUP, "CLONE_INTO_CGROUP"},
    {CF_AUTOREAP, "CLONE_AUTOREAP"},
    {CF_NNP, "CLONE_NNP"},
    {CF_PIDFD_AUTOKILL, "CLONE_PIDFD_AUTOKILL"},
}};

constexpr std::array<std::pair<unsigned, std::string_view>, 8> kWaitOptions{{
    {W_NOHANG, "WNOHANG"},   {W_UNTRACED, "WUNTRACED"}, {W_EXITED, "WEXITED"},
    {W_CONTINUED, "WCONTINUED"}, {W_NOWAIT, "WNOWAIT"}, {W_NOTHREAD, "__WNOTHREAD"},
    {W_ALL, "__WALL"},       {W_CLONE, "__WCLONE"},
}};

constexpr std::array<std::pair<unsigned, std::string_view>, 6> kPollBits{{
    {P_IN, "POLLIN"}, {P_PRI, "POLLPRI"}, {P_OUT, "POLLOUT"},
    {P_ERR, "POLLERR"}, {P_HUP, "POLLHUP"}, {P_NVAL, "POLLNVAL"},
}};

// name -> index into one of the tables above: open addressing over an FNV-1a
// hash, built at compile time (the same answers as a linear search, faster).
template <class Table>
class NameIndex {
public:
    constexpr explicit NameIndex(const Table& t) : table_(t) {
        for (auto& s : slots_) s = -1;
        for (size_t i = 0; i < t.size(); ++i) {
            size_t h = hash(name_of(t[i])) % kSlots;
            while (slots_[h] >= 0) h = (h + 1) % kSlots;
            slots_[h] = static_cast<int16_t>(i);
        }
    }
    constexpr std::optional<size_t> find(std::string_view name) const {
        for (size_t h = hash(name) % kSlots;; h = (h + 1) % kSlots) {
            if (slots_[h] < 0) return std::nullopt;
            if (name_of(table_[slots_[h]]) == name) return static_cast<size_t>(slots_[h]);
        }
    }

private:
    static constexpr size_t kSlots = 128;  // > 2 x the largest table: short probes, always an empty slot
    static_assert(std::tuple_size_v<Table> * 2 <= kSlots);
    template <class E>
    static constexpr std::string_view name_of(const E& e) {
        if constexpr (requires { e.name; }) return e.name;
        else return e.second;
    }
    static constexpr uint32_t hash(std::string_view s) {
        uint32_t h = 2166136261u;
        for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
        return h;
    }
    const Table& table_;
    int16_t slots_[kSlots]{};
};

constexpr NameIndex kSignalIndex{kSignals};
constexpr NameIndex kErrnoIndex{kErrnos};
constexpr NameIndex kCloneFlagIndex{kCloneFlags};
constexpr NameIndex kWaitOptionIndex{kWaitOptions};
constexpr NameIndex kPollBitIndex{kPollBits};

std::optional<int> parse_int(std::string_view s) {
    int v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    return v;
}

}  // namespace

std::optional<int> signal_number(std::string_view name) {
    if (auto i = kSignalIndex.find(name)) return kSignals[*i].num;
    if (name == "SIGIOT") return 6;
    if (name == "SIGPOLL") return 29;
    if (name == "SIGRTMIN") return 32;
    if (name == "SIGRTMAX") return 64;
    if (name.starts_with("SIGRTMIN+")) {
        auto n = parse_int(name.substr(9));
        if (n && *n >= 0 && *n <= 32) return 32 + *n;
    }
    return std::nullopt;
}

std::string signal_name(int sig) {
    for (const auto& s : kSignals)
        if (s.num == sig) return std::string(s.name);
    if (sig > 32 && sig <= 64) return "SIGRTMIN+" + std::to_string(sig - 32);
    if (sig == 32) return "SIGRTMIN";
    return std::to_string(sig);
}

std::optional<int> errno_number(std::string_view name) {
    if (auto i = kErrnoIndex.find(name)) return kErrnos[*i].num;
    if (name == "EWOULDBLOCK") return 11;
    return std::nullopt;
}

std::string errno_name(int err) {
    for (const auto& e : kErrnos)
        if (e.num == err) return std::string(e.name);
    return "E#" + std::to_string(err);
}

std::optional<uint64_t> clone_flag(std::string_view name) {
    if (auto i = kCloneFlagIndex.find(name)) return kCloneFlags[*i].bit;
    return std::nullopt;
}

std::string clone_flags_string(uint64_t flags) {
    std::string out;
    for (const auto& f : kCloneFlags) {
        if (!(flags & f.bit)) continue;
        if (!out.empty()) out += '|';
        out += f.name;
        flags &= ~f.bit;
    }
    if (flags) {
        if (!out.empty()) out += '|';
        char buf[32];
        auto [p, ec] = std::to_chars(buf, buf + sizeof buf, flags, 16);
        (void)ec;
        out += "0x" + std::string(buf, p);
    }
    return out.empty() ? "0" : out;
}

std::optional<unsigned> wait_option(std::string_view name) {
    if (auto i = kWaitOptionIndex.find(name)) return kWaitOptions[*i].first;
    if (name == "WSTOPPED") return W_UNTRACED;
    return std::nullopt;
}

std::string wait_options_string(unsigned options) {
    std::string out;
    for (const auto& [bit, n] : kWaitOptions) {
        if (!(options & bit)) continue;
        if (!out.empty()) out += '|';
        out += n;
    }
    return out.empty() ? "0" : out;
}

std::optional<unsigned> poll_bit(std::string_view name) {
    if (auto i = kPollBitIndex.find(name)) return kPollBits[*i].first;
    return std::nullopt;
}

std::vector<std::string> poll_names(unsigned revents) {
    std::vector<std::string> out;
    for (const auto& [bit, n] : kPollBits)
        if (revents & bit) out.emplace_back(n);
    return out;
}

std::optional<unsigned> pidfd_flag(std::string_view name) {
    if (name == "PIDFD_NONBLOCK") return kPIDFD_NONBLOCK;
    if (name == "PIDFD_THREAD") return kPIDFD_THREAD;
    return std::nullopt;
}

std::optional<unsigned> sigaction_flag(std::string_view name) {
    if (name == "SA_NOCLDWAIT") return kSA_NOCLDWAIT;
    if (name == "SA_NOCLDSTOP") return 1;
    if (name == "SA_RESTART") return 0x10000000;
    if (name == "SA_SIGINFO") return 4;
    return std::nullopt;
}

bool is_identifier(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
    if (!alpha(s[0])) return false;
    for (char c : s)
        if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
    return true;
}

}  // namespace pidlab::names
