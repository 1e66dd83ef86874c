#include "oracle/settle.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace pidlab::oracle::procfs {
namespace {

constexpr unsigned long kPF_EXITING = 0x4;
constexpr unsigned long kPF_SIGNALED = 0x400;  // include/linux/sched.h: killed by a signal
constexpr unsigned kPIDFD_THREAD = 0200;  // O_EXCL
constexpr uint64_t kSigkillBit = 1ULL << (SIGKILL - 1);

int pidfd_open(pid_t pid, unsigned flags) { return static_cast<int>(syscall(SYS_pidfd_open, pid, flags)); }

// "/proc/TGID/task/TID/NAME" into buf (no allocation).
void task_file(char (&buf)[96], pid_t tgid, pid_t tid, const char* name) {
    std::snprintf(buf, sizeof buf, "/proc/%d/task/%d/%s", static_cast<int>(tgid), static_cast<int>(tid), name);
}

// A whole /proc file through an open fd into buf, NUL-terminated: one pread
// from offset 0 (stat and status are single-record seq_files: one read gives
// all of it, and a re-read regenerates the text); its length, or -1. These
// readers run several times a step, so they use plain system calls and no
// streams (under QEMU's TCG the iostream machinery was most of the
// controller's time).
double g_slurp_ms = 0;
ssize_t reread(int fd, char* buf, size_t cap) {
    auto t0 = Clock::now();
    ssize_t n;
    do n = pread(fd, buf, cap - 1, 0);
    while (n < 0 && errno == EINTR);
    g_slurp_ms += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (n < 0 || static_cast<size_t>(n) >= cap - 1) return -1;  // gone, or larger than any stat or status file
    buf[n] = 0;
    return n;
}

// The same by path.
ssize_t slurp(const char* path, char* buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = reread(fd, buf, cap);
    close(fd);
    return n;
}

const char* skip_blanks(const char* p) {
    while (*p == ' ' || *p == '\t') ++p;
    return p;
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
    char path[96];
    std::snprintf(path, sizeof path, "/proc/%d/task/%d", static_cast<int>(t.tgid), static_cast<int>(t.tid));
    return access(path, F_OK) != 0 && errno == ENOENT;
}

}  // namespace

const Features& features() {
    static const Features f = probe();
    return f;
}

namespace {

// The task's open file for `name`, (re)opened when needed; -1 when it cannot be opened.
int proc_file(KernelTask& t, KernelTask::ProcFile& f, const char* name) {
    if (f.fd >= 0 && f.tgid == t.tgid && f.tid == t.tid) return f.fd;
    if (f.fd >= 0) close(f.fd);
    char path[96];
    task_file(path, t.tgid, t.tid, name);
    f.fd = open(path, O_RDONLY | O_CLOEXEC);
    f.tgid = t.tgid;
    f.tid = t.tid;
    return f.fd;
}

std::optional<Status> parse_status(char* text);

}  // namespace

void KernelTask::close_proc_files() {
    for (auto* f : {&stat_file, &status_file})
        if (f->fd >= 0) {
            close(f->fd);
            f->fd = -1;
        }
}

std::optional<Stat> read_stat(KernelTask& t) {
    char text[4096];
    int fd = proc_file(t, t.stat_file, "stat");
    ssize_t len = fd < 0 ? -1 : reread(fd, text, sizeof text);
    if (len < 0) return std::nullopt;
    return parse_stat(text, static_cast<size_t>(len));
}

std::optional<Status> read_status(pid_t tgid, pid_t tid) {
    char path[96], text[8192];
    task_file(path, tgid, tid, "status");
    if (slurp(path, text, sizeof text) < 0) return std::nullopt;
    return parse_status(text);
}

std::optional<Status> read_status(KernelTask& t) {
    char text[8192];
    int fd = proc_file(t, t.status_file, "status");
    if (fd < 0 || reread(fd, text, sizeof text) < 0) return std::nullopt;
    return parse_status(text);
}

std::optional<Stat> parse_stat(const char* text, size_t len) {
    // comm (field 2) may hold anything, ')' included: the fields start after the last ')'.
    const char* close = nullptr;
    for (ssize_t i = static_cast<ssize_t>(len) - 1; i >= 0; --i)
        if (text[i] == ')') {
            close = text + i;
            break;
        }
    if (!close) return std::nullopt;
    // Fields 3 onwards, separated by single spaces: f[0] is field 3.
    const char* f[36] = {};
    size_t n = 0;
    for (const char* p = close + 1; *p && n < 36;) {
        while (*p == ' ' || *p == '\n') ++p;
        if (!*p) break;
        f[n++] = p;
        while (*p && *p != ' ' && *p != '\n') ++p;
    }
    if (n < 36) return std::nullopt;
    Stat s;
    s.state = f[0][0];
    s.ppid = static_cast<pid_t>(std::strtol(f[1], nullptr, 10));
    s.flags = std::strtoul(f[6], nullptr, 10);
    s.sigpnd = std::strtoull(f[28], nullptr, 10);
    s.exit_signal = static_cast<int>(std::strtol(f[35], nullptr, 10));
    return s;
}

bool exiting(const Stat& s) { return s.state == 'Z' || s.state == 'X' || (s.flags & (kPF_EXITING | kPF_SIGNALED)); }
bool dying(const Stat& s) { return exiting(s) || (s.sigpnd & kSigkillBit); }

namespace {

std::optional<Status> parse_status(char* text) {
    Status s;
    auto is = [](const char* line, const char* key, const char*& value) {
        size_t k = std::strlen(key);
        if (std::strncmp(line, key, k) != 0 || line[k] != ':') return false;
        value = skip_blanks(line + k + 1);
        return true;
    };
    for (char* line = text; *line;) {
        char* end = std::strchr(line, '\n');
        if (end) *end = 0;
        const char* v = nullptr;
        if (is(line, "NoNewPrivs", v)) {
            s.no_new_privs = std::strtol(v, nullptr, 10) != 0;
        } else if (is(line, "Uid", v)) {
            char* after = nullptr;
            std::strtol(v, &after, 10);  // the real uid
            const char* e = skip_blanks(after);
            if (*e >= '0' && *e <= '9') s.euid = std::strtol(e, nullptr, 10);
        } else if (is(line, "NSpid", v)) {
            for (const char* p = v; *p >= '0' && *p <= '9';) {
                char* after = nullptr;
                s.nspid.push_back(static_cast<pid_t>(std::strtol(p, &after, 10)));
                p = skip_blanks(after);
            }
        }
        if (!end) break;
        line = end + 1;
    }
    return s;
}

}  // namespace

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

namespace {

// The task's /proc directory is gone (what an unreadable stat or status file meant).
bool proc_dir_gone(const KernelTask& t) {
    char path[96];
    std::snprintf(path, sizeof path, "/proc/%d/task/%d", static_cast<int>(t.tgid), static_cast<int>(t.tid));
    return access(path, F_OK) != 0;
}

void mark_released(KernelTask& t) {
    t.released = true;
    t.close_proc_files();
}

// examine(), keeping the stat it read (when the task was looked at in /proc).
Life examine_reading(KernelTask& t, std::optional<Stat>& st) {
    if (!t.created) return Life::NotCreated;
    if (t.released) return Life::Released;
    if (released_now(t)) {
        mark_released(t);
        return Life::Released;
    }
    ++proc_reads();
    // SIGKILL for a task: complete_signal puts a fatal signal in the own pending
    // set of every thread of the group (so does zap_other_threads), stat's field
    // 31. A thread that starts to die takes it out of that set under the siglock
    // and sets PF_SIGNALED just after unlocking it, then PF_EXITING in do_exit
    // (kernel/signal.c: complete_signal, get_signal "fatal:"; kernel/exit.c:
    // do_exit). One stat prints the flags (field 9) before the pending set (31),
    // so the whole step can fall between the two: a task that looks alive and
    // unkilled is read once more, and the second read's flags come after the
    // first read's pending set. (On another vCPU the dying thread is really in
    // that window now and then: a crosscheck on 7.3 saw it with the own set alone.)
    st = read_stat(t);
    if (st && !t.must_die && !dying(*st)) st = read_stat(t);
    if (!st || (exiting(*st) && proc_dir_gone(t))) {
        // Gone from /proc but no POLLHUP yet: between unhash and the wake-up.
        if (released_now(t)) {
            mark_released(t);
            return Life::Released;
        }
        t.must_die = true;
        return Life::Dying;
    }
    if (st->state == 'Z') return Life::Zombie;
    // 'X': exit_notify chose EXIT_DEAD (autoreap, SIGCHLD ignored, a thread) and
    // release_task is on its way. PF_EXITING: in do_exit. PF_SIGNALED: on its way
    // there. SIGKILL pending: about to be.
    if (dying(*st)) t.must_die = true;
    return t.must_die ? Life::Dying : Life::Running;
}

}  // namespace

Life examine(KernelTask& t) {
    std::optional<Stat> st;
    return examine_reading(t, st);
}

std::optional<std::string> settle(const std::vector<KernelTask*>& tasks, Clock::time_point deadline) {
    for (;;) {
        std::optional<std::string> dying;
        std::vector<pollfd> watch;
        // A task that finished exiting during a pass (its exit_notify ran: ptrace
        // EXITKILL, pdeath signals, reparenting) may have doomed a task the pass
        // had already looked at: then look at all of them once more.
        bool exited = false;
        for (auto* t : tasks) {
            const Life before = t->settled;
            const Life now = examine(*t);
            t->settled = now;
            if ((now == Life::Zombie || now == Life::Released) && (before == Life::Running || before == Life::Dying))
                exited = true;
            if (now != Life::Dying) continue;
            if (!dying) dying = t->name;
            if (t->pidfd >= 0) watch.push_back({t->pidfd, POLLIN, 0});
        }
        if (!dying && !exited) return std::nullopt;
        if (!dying) continue;
        if (Clock::now() >= deadline) return dying;
        // A release wakes the pidfd; turning into a zombie does not always, so look again soon.
        if (watch.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        else poll(watch.data(), watch.size(), 1);
    }
}

scenario::Observation observe(KernelTask& t, const std::function<std::optional<std::string>(pid_t)>& parent_name,
                              Life* life_out) {
    scenario::Observation o;
    std::optional<Stat> st;
    auto life = examine_reading(t, st);
    if (life_out) *life_out = life;
    if (life == Life::Released) {
        o.state = "reaped";
        return o;
    }
    // What examine() read, and status.
    std::optional<Status> status;
    if (st) status = read_status(t);
    // Read, then make sure the pid still belonged to the task while we read.
    if (!st || !status || released_now(t)) {
        if (released_now(t)) mark_released(t);
        if (life_out) *life_out = t.released ? Life::Released : Life::Dying;
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
