#include "oracle/settle.hpp"

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace pidlab::oracle::procfs {
namespace {

constexpr unsigned long kPF_EXITING = 0x4;
constexpr unsigned kPIDFD_THREAD = 0200;  // O_EXCL
constexpr uint64_t kSigkillBit = 1ULL << (SIGKILL - 1);

int pidfd_open(pid_t pid, unsigned flags) { return static_cast<int>(syscall(SYS_pidfd_open, pid, flags)); }

std::string task_dir(pid_t tgid, pid_t tid) {
    return "/proc/" + std::to_string(tgid) + "/task/" + std::to_string(tid);
}

double g_slurp_ms = 0;
std::optional<std::string> slurp(const std::string& path) {
    struct Add {  // the profile's time in /proc reads
        Clock::time_point t0 = Clock::now();
        ~Add() { g_slurp_ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }
    } add;
    std::ifstream in(path);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return ss.str();
}

bool hup(int pidfd) {
    pollfd p{pidfd, POLLIN, 0};
    return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLNVAL)) == POLLHUP;
}

Features probe() {
    Features f;
    pid_t child = fork();
    if (child == 0) _exit(0);
    if (child < 0) return f;
    int fd = pidfd_open(child, 0);
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (fd >= 0) {
        f.pidfd_open = true;
        f.pollhup = hup(fd);
        close(fd);
    }
    int self = pidfd_open(static_cast<pid_t>(syscall(SYS_gettid)), kPIDFD_THREAD);
    if (self >= 0) {
        f.pidfd_thread = true;
        close(self);
    }
    return f;
}

// Released: the controller's pidfd reports POLLHUP, or (kernels without it)
// the task's /proc directory is gone.
bool released_now(const KernelTask& t) {
    if (t.pidfd >= 0 && features().pollhup) return hup(t.pidfd);
    return access(task_dir(t.tgid, t.tid).c_str(), F_OK) != 0 && errno == ENOENT;
}

}  // namespace

const Features& features() {
    static const Features f = probe();
    return f;
}

std::optional<Stat> read_stat(pid_t tgid, pid_t tid) {
    auto text = slurp(task_dir(tgid, tid) + "/stat");
    if (!text) return std::nullopt;
    // comm (field 2) may hold anything, ')' included: the fields start after the last ')'.
    auto close = text->rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream in(text->substr(close + 1));
    std::vector<std::string> f;  // f[0] is field 3
    for (std::string tok; in >> tok;) f.push_back(tok);
    if (f.size() < 36) return std::nullopt;
    Stat s;
    s.state = f[0].empty() ? '?' : f[0][0];
    s.ppid = static_cast<pid_t>(std::strtol(f[1].c_str(), nullptr, 10));
    s.flags = std::strtoul(f[6].c_str(), nullptr, 10);
    s.exit_signal = static_cast<int>(std::strtol(f[35].c_str(), nullptr, 10));
    return s;
}

std::optional<Status> read_status(pid_t tgid, pid_t tid) {
    auto text = slurp(task_dir(tgid, tid) + "/status");
    if (!text) return std::nullopt;
    Status s;
    std::istringstream in(*text);
    for (std::string line; std::getline(in, line);) {
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        auto key = line.substr(0, colon);
        std::istringstream v(line.substr(colon + 1));
        if (key == "SigPnd") {
            std::string hex;
            v >> hex;
            s.sigpnd = std::strtoull(hex.c_str(), nullptr, 16);
        } else if (key == "ShdPnd") {
            std::string hex;
            v >> hex;
            s.shdpnd = std::strtoull(hex.c_str(), nullptr, 16);
        } else if (key == "NoNewPrivs") {
            int n = 0;
            v >> n;
            s.no_new_privs = n != 0;
        } else if (key == "Uid") {
            long ruid = -1;
            v >> ruid >> s.euid;
        } else if (key == "NSpid") {
            for (long p; v >> p;) s.nspid.push_back(static_cast<pid_t>(p));
        }
    }
    return s;
}

std::vector<pid_t> threads_of(pid_t tgid) {
    std::vector<pid_t> out;
    auto path = "/proc/" + std::to_string(tgid) + "/task";
    DIR* d = opendir(path.c_str());
    if (!d) return out;
    while (auto* e = readdir(d))
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9') out.push_back(static_cast<pid_t>(std::atol(e->d_name)));
    closedir(d);
    return out;
}

int open_watch(pid_t tid, bool leader) {
    if (!features().pidfd_open) return -1;
    if (!leader && !features().pidfd_thread) return -1;
    return pidfd_open(tid, leader ? 0 : kPIDFD_THREAD);
}

double proc_read_ms() { return g_slurp_ms; }

long& proc_reads() {
    static long n = 0;
    return n;
}

Life examine(KernelTask& t) {
    if (!t.created) return Life::NotCreated;
    if (t.released) return Life::Released;
    if (released_now(t)) {
        t.released = true;
        return Life::Released;
    }
    ++proc_reads();
    auto st = read_stat(t.tgid, t.tid);
    auto status = st ? read_status(t.tgid, t.tid) : std::nullopt;
    if (!st || !status) {
        // Gone from /proc but no POLLHUP yet: between unhash and the wake-up.
        if (released_now(t)) {
            t.released = true;
            return Life::Released;
        }
        t.must_die = true;
        return Life::Dying;
    }
    if (st->state == 'Z') return Life::Zombie;
    // 'X': exit_notify chose EXIT_DEAD (autoreap, SIGCHLD ignored, a thread) and
    // release_task is on its way. PF_EXITING: in do_exit. SIGKILL pending
    // (private or shared): about to be.
    if (st->state == 'X' || (st->flags & kPF_EXITING) || ((status->sigpnd | status->shdpnd) & kSigkillBit))
        t.must_die = true;
    return t.must_die ? Life::Dying : Life::Running;
}

std::optional<std::string> settle(const std::vector<KernelTask*>& tasks, Clock::time_point deadline) {
    for (;;) {
        std::optional<std::string> dying;
        std::vector<pollfd> watch;
        for (auto* t : tasks) {
            if (examine(*t) != Life::Dying) continue;
            if (!dying) dying = t->name;
            if (t->pidfd >= 0) watch.push_back({t->pidfd, POLLIN, 0});
        }
        if (!dying) return std::nullopt;
        if (Clock::now() >= deadline) return dying;
        // A release wakes the pidfd; turning into a zombie does not always, so look again soon.
        if (watch.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        else poll(watch.data(), watch.size(), 1);
    }
}

scenario::Observation observe(KernelTask& t, const std::function<std::optional<std::string>(pid_t)>& parent_name) {
    scenario::Observation o;
    auto life = examine(t);
    if (life == Life::Released) {
        o.state = "reaped";
        return o;
    }
    auto st = read_stat(t.tgid, t.tid);
    auto status = read_status(t.tgid, t.tid);
    // Read, then make sure the pid still belonged to the task while we read.
    if (!st || !status || released_now(t)) {
        if (released_now(t)) t.released = true;
        o.state = "reaped";
        return o;
    }
    o.state = st->state == 'Z' ? "zombie" : "running";
    if (auto p = parent_name(st->ppid)) o.parent = *p;
    o.exit_signal = st->exit_signal;
    o.no_new_privs = status->no_new_privs;
    if (status->euid >= 0) o.euid = static_cast<int>(status->euid);
    return o;
}

}  // namespace pidlab::oracle::procfs
