// What the controller learns from the kernel without asking a puppet: /proc
// parsing, whether a task has been released (POLLHUP on the controller's own
// pidfd), settling after a step, and a task's observation.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "format/scenario.hpp"

namespace pidlab::oracle::procfs {

using Clock = std::chrono::steady_clock;

// What the running kernel offers for watching tasks (probed once).
struct Features {
    bool pidfd_open = false;    // pidfd_open(2) (5.3)
    bool pidfd_thread = false;  // PIDFD_THREAD (6.9)
    bool pollhup = false;       // POLLHUP once the pid is released (6.9)
};
const Features& features();

// /proc/TGID/task/TID/stat, the fields we use.
struct Stat {
    char state = '?';
    pid_t ppid = 0;           // field 4: the real parent's tgid
    unsigned long flags = 0;  // field 9: PF_* (PF_EXITING = 0x4, PF_SIGNALED = 0x400)
    uint64_t sigpnd = 0;      // field 31: the thread's own pending signals 1-31 (fs/proc/array.c:
                              // do_task_stat prints task->pending.signal.sig[0] & 0x7fffffff)
    int exit_signal = 0;      // field 38
};

// A stat file's text (`len` bytes) parsed; nullopt when it has too few fields.
std::optional<Stat> parse_stat(const char* text, size_t len);
// What stat alone says of a task: exiting (a zombie, EXIT_DEAD, PF_EXITING, or
// PF_SIGNALED: it took a fatal signal and is on its way to do_exit), or dying
// (that, or SIGKILL in its own pending set).
bool exiting(const Stat& s);
bool dying(const Stat& s);

// /proc/TGID/task/TID/status, the lines we use.
struct Status {
    bool no_new_privs = false;
    long euid = -1;
    std::vector<pid_t> nspid;  // from the /proc mount's namespace inwards
};
std::optional<Status> read_status(pid_t tgid, pid_t tid);

std::vector<pid_t> threads_of(pid_t tgid);

enum class Life { Running, Dying, Zombie, Released, NotCreated };

// A real task as the controller follows it (pids in the controller's namespace).
struct KernelTask {
    std::string name;
    bool created = false;
    pid_t tid = 0, tgid = 0;
    int pidfd = -1;          // the controller's own pidfd_open() (PIDFD_THREAD for threads)
    bool released = false;   // gone for good
    bool must_die = false;   // told to exit, or seen dying: sticky until it is a zombie or gone
    Life settled = Life::NotCreated;  // what the last settle() pass saw

    // /proc/TGID/task/TID/stat and status, opened on first use and re-read
    // with pread(2) (no path walk, one system call). The open files follow
    // the struct pid they were opened for: a read after its task was
    // released fails (ESRCH). A different tgid/tid (a non-leader exec)
    // reopens them. Closed once the task is released, and by the destructor.
    struct ProcFile {
        int fd = -1;
        pid_t tgid = 0, tid = 0;
    } stat_file, status_file;
    void close_proc_files();

    KernelTask() = default;
    KernelTask(const KernelTask&) = delete;
    KernelTask& operator=(const KernelTask&) = delete;
    ~KernelTask() { close_proc_files(); }
};

// stat and status through the task's open files (read_status(tgid, tid) reads by
// path: a new task's candidate threads).
std::optional<Stat> read_stat(KernelTask& t);
std::optional<Status> read_status(KernelTask& t);

// The controller's own pidfd for a task (PIDFD_THREAD unless it leads its
// group); -1 where the kernel cannot give one (then /proc is watched instead).
int open_watch(pid_t tid, bool leader);

// Looks at the task now; updates released / must_die. (A zombie is read too: it
// may turn EXIT_DEAD, reparented to a parent that ignores SIGCHLD or reaped by a
// wait, some time before it is released.)
Life examine(KernelTask& t);
// How many times examine() read /proc (the profile's count).
long& proc_reads();
// Time spent reading /proc stat and status files (the profile's).
double proc_read_ms();

// Waits until every task that must die is a zombie or released. Returns the
// name of a task still dying when the deadline passed, or nullopt when settled.
std::optional<std::string> settle(const std::vector<KernelTask*>& tasks, Clock::time_point deadline);

// The task's observation from /proc: state, parent (through parent_name, given
// the parent's tgid), exit_signal, no_new_privs, euid. Subreaper is not in
// /proc: the caller adds it. A released task reports only {state: reaped}.
// `life`, when given, gets what examine() said of the task (Running: alive and
// not dying when it was read).
scenario::Observation observe(KernelTask& t, const std::function<std::optional<std::string>(pid_t)>& parent_name,
                              Life* life = nullptr);

}  // namespace pidlab::oracle::procfs
