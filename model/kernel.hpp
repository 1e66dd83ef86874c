// The in-memory model of Linux process-lifecycle semantics. No I/O, no
// randomness: the same calls give the same state. Tasks, signal_structs,
// sighand, fd tables and pidfd files live in plain vectors indexed by small
// integers, so a Kernel is copied by value (the checker explores copies).
//
// Every kernel path is a member function named after its kernel counterpart,
// with a one-line comment citing it. Exits are split into the phases the
// kernel runs them in (do_exit up to exit_task_work, exit_notify under the
// tasklist lock, release_task), each a separate transition that the checker can
// interleave with other tasks' ops; replay runs them all to quiescence (settle).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/call.hpp"
#include "model/profile.hpp"

namespace pidlab::model {

inline constexpr TaskId kInit = 0;  // pid 1 of the scenario's pid namespace
inline constexpr TaskId kTest = 1;  // T, the test process

// task->exit_state, plus Released once release_task has unhashed the task.
enum class ExitState : uint8_t { Running, Zombie, Trace, Dead, Released };

// Where a task's exit_signal came from (the checker's CLONE_PARENT invariants need it).
enum class SignalOrigin : uint8_t {
    Initial,              // init and T
    Requested,            // the creator passed it (fork: SIGCHLD; clone/clone3: exit_signal)
    AutoreapImposed,      // 0 demanded by CLONE_AUTOREAP (or forced by AUTOREAP|PARENT in rfc-v1..v3)
    CloneParent,          // inherited through CLONE_PARENT from a non-autoreap caller's group leader
    CloneParentAutoreap,  // inherited through CLONE_PARENT from an autoreap process
    ReparentReset,        // reparent_leader set SIGCHLD
    ExecReset,            // de_thread set SIGCHLD
    Thread,               // -1: a thread
};
const char* origin_name(SignalOrigin o);

struct Cred {
    int uid = 0, euid = 0, suid = 0;
    bool caps = true;  // the full capability set (root) or none
    int gid = 0;       // rgid = egid = sgid (scenarios set gids only together with uids)
    bool operator==(const Cred&) const = default;
};

enum class Handler : uint8_t { Dfl, Ign, Catch };

struct Task {
    int pid = 0;
    TaskId leader = kNoTask;       // group_leader
    TaskId real_parent = kNoTask;  // kNoTask for init (its parent is outside the namespace)
    TaskId parent = kNoTask;       // the tracer while traced
    ExitState exit_state = ExitState::Running;
    bool pf_exiting = false;       // PF_EXITING: do_exit has begun
    bool exit_requested = false;   // exit(2) called, or a fatal signal is pending
    int exit_code = 0;             // wait-status encoding
    int exit_signal = 17;
    SignalOrigin origin = SignalOrigin::Initial;
    TaskId origin_from = kNoTask;  // CLONE_PARENT: the process whose exit_signal was inherited
    int pdeath_signal = 0;
    bool no_new_privs = false;
    bool dumpable = true;          // get_dumpable(mm) == SUID_DUMP_USER (fs.suid_dumpable = 0 otherwise)
    bool ptraced = false;          // task->ptrace != 0
    bool ptrace_exitkill = false;  // PT_EXITKILL
    Cred cred;
    int signal = -1;               // signal_struct
    int sighand = -1;
    int files = -1;                // fd table (-1 once exit_files ran)
    uint64_t pending = 0;          // private pending signals: bit (sig-1)
    int self_exec_id = 0, parent_exec_id = 0;
    std::vector<TaskId> children;  // natural children (thread-group leaders)
    std::vector<TaskId> ptraced_list;  // tasks this one traces
    // pidfs attributes of this task's struct pid
    bool pidfs_registered = false;  // a pidfd was created for this pid
    bool pidfs_has_exit = false;    // pidfs_exit stored the exit information
    int pidfs_exit_code = 0;
    bool autokilled = false;        // SIGKILL came from pidfs_file_release
    const char* last_rule = "";     // the kernel function that last changed this task's lifecycle state
};

struct SignalStruct {
    std::vector<TaskId> threads;    // thread list in creation order, leader first; released tasks leave it
    int live = 0;                   // signal->live
    int quick_threads = 0;
    bool group_exit = false;        // SIGNAL_GROUP_EXIT
    int group_exit_code = 0;
    bool unkillable = false;        // SIGNAL_UNKILLABLE
    bool autoreap = false;          // signal->autoreap (the series)
    bool is_child_subreaper = false, has_child_subreaper = false;
    uint64_t shared_pending = 0;
    int autokill_pidfd = -1;        // v2/v3: signal->autokill_pidfd (a file address)
};

struct Sighand {
    std::array<Handler, 64> action{};   // action[sig-1]
    std::array<unsigned, 64> flags{};   // sa_flags
    int users = 0;
};

struct File {
    int refs = 0;                  // f_count
    TaskId pid = kNoTask;          // the struct pid it refers to (tasks are never reused)
    bool thread = false;           // PIDFD_THREAD
    bool nonblock = false;         // O_NONBLOCK
    bool autokill = false;         // PIDFD_AUTOKILL in f_flags (v4 on)
    bool clone3 = false;           // created by clone3 (bookkeeping for the checker, not kernel state)
    bool creator_caps = false;     // its creator held CAP_SYS_ADMIN (bookkeeping for the checker)
    int addr = 0;                  // the file's "address": reusable once released (v2/v3 hazard)
    bool released = false;
};

struct FdEntry {
    int fd = 0;
    int file = -1;
    bool cloexec = false;
};

struct FdTable {
    int users = 0;
    std::vector<FdEntry> entries;  // sorted by fd
};

// The outcome of a system call: the kernel's return value and what the
// scenario format observes about it.
struct SysRet {
    long long ret = 0;          // >= 0 on success, -1 on failure
    int err = 0;                // errno when ret == -1
    const char* rule = "";      // the kernel function whose rule decided the outcome
    bool returns_id = false;    // the call returned a pid or fd ("ok")
    bool would_block = false;   // a blocking wait found nothing to report
    bool not_modelled = false;  // the call succeeded into territory the model does not cover
    TaskId task = kNoTask;      // new task (clone), reported task (wait)
    int fd = -1;                // new fd
    std::optional<int> status;  // wait status
    std::optional<unsigned> revents;
    bool has_info_exit = false; // PIDFD_GET_INFO: the call reported on the exit field
    std::optional<int> info_exit;
    std::optional<long long> value;
    std::optional<int> euid;
    std::optional<bool> pending;
};

// A failed call: errno `err`, decided by the kernel function `rule`.
inline SysRet fail(int err, const char* rule) {
    SysRet r;
    r.ret = -1;
    r.err = err;
    r.rule = rule;
    return r;
}
// A call that returned 0, decided by `rule`.
inline SysRet ok(const char* rule) {
    SysRet r;
    r.rule = rule;
    return r;
}

// Arguments of clone/clone3 (struct kernel_clone_args, as far as modelled).
struct CloneArgs {
    uint64_t flags = 0;       // semantic flags (names::CF_*)
    uint64_t raw_flags = 0;   // ABI bits >= 34, decoded by the profile
    int exit_signal = 0;
    bool clone3 = true;
};

// Wait option bits (include/uapi/linux/wait.h).
inline constexpr unsigned kWNOHANG = 1, kWUNTRACED = 2, kWEXITED = 4, kWCONTINUED = 8, kWNOWAIT = 0x01000000,
                          kWNOTHREAD = 0x20000000, kWALL = 0x40000000, kWCLONE = 0x80000000;
enum class WaitType : uint8_t { Pid, All, Pidfd };

class Kernel {
public:
    Kernel(Profile profile, Cred test_cred);

    const Profile& profile() const { return profile_; }
    const std::vector<Task>& tasks() const { return tasks_; }
    const Task& task(TaskId t) const { return tasks_[t]; }
    const SignalStruct& signal_of(TaskId t) const { return signals_[tasks_[t].signal]; }
    const Sighand& sighand_of(TaskId t) const { return sighands_[tasks_[t].sighand]; }
    const std::vector<File>& files() const { return files_; }
    const std::vector<FdTable>& fd_tables() const { return tables_; }
    const FdTable* table_of(TaskId t) const { return tasks_[t].files < 0 ? nullptr : &tables_[tasks_[t].files]; }
    // The fd in t's table referring to `fd`, or nullptr.
    const FdEntry* fd_entry(TaskId t, int fd) const;

    bool alive(TaskId t) const {  // running, not exiting
        return t >= 0 && t < static_cast<int>(tasks_.size()) && tasks_[t].exit_state == ExitState::Running &&
               !tasks_[t].pf_exiting && !tasks_[t].exit_requested;
    }
    bool thread_group_leader(TaskId t) const { return tasks_[t].leader == t; }
    bool thread_group_empty(TaskId t) const;           // include/linux/sched/signal.h
    bool delay_group_leader(TaskId t) const;           // include/linux/sched/signal.h
    bool same_thread_group(TaskId a, TaskId b) const { return tasks_[a].signal == tasks_[b].signal; }
    // include/linux/ptrace.h: ptrace_reparented — traced by someone outside the real parent's group
    bool ptrace_reparented(TaskId t) const {
        const Task& k = tasks_[t];
        return k.parent != kNoTask && k.real_parent != kNoTask && !same_thread_group(k.real_parent, k.parent);
    }
    bool sigismember_pending(TaskId t, int sig) const;

    // ---- one step: the dispatcher and the rules of whether it can run ----
    // Performs the call (its op's model function, format/ops.def). The caller settles.
    SysRet perform(const Call& c);
    // Why `c` cannot run here, or Refusal::None. A refused step is not performed. Without
    // `blocking`, whether the call would sleep is not asked (replay finds it out by running it).
    Refusal refusal(const Call& c, bool blocking = true) const;
    // Would the call sleep? (Waits: a dry run of the wait on a copy, in `scratch` when given,
    // whose buffers are reused.)
    bool would_block(const Call& c, Kernel* scratch = nullptr) const;
    // The flag checks of clone/clone3 that precede any change of state (kernel/fork.c:
    // sys_clone3, copy_clone_args_from_user, clone3_args_valid, copy_process up to the new task),
    // for a caller with the given facts; `flags` receives the decoded flags. Ok, or the failure.
    struct CloneCaller {
        bool unkillable = false, autoreap = false, caps = true, ptraced = false;
    };
    SysRet clone_checks(const CloneArgs& args, const CloneCaller& caller, uint64_t& flags) const;
    // Can a clone with these arguments succeed for some caller? (The explorer leaves out flag
    // sets that the revision refuses whatever the state.)
    bool clone_args_can_succeed(const CloneArgs& args) const;

    // The op table's model functions, one per op (format/ops.def); each unpacks the call
    // into the kernel path below.
#define PIDLAB_OP(Id, name, args, obs, attrs, fn) SysRet fn(const Call& c);
#include "format/ops.def"
#undef PIDLAB_OP

    // ---- system calls: `current` is the calling task ----
    SysRet sys_clone(TaskId current, const CloneArgs& args);            // fork, clone, clone3
    SysRet sys_exit(TaskId current, int code);                          // kernel/exit.c: SYSCALL exit
    SysRet sys_exit_group(TaskId current, int code);                    // kernel/exit.c: do_group_exit
    SysRet sys_kill(TaskId current, TaskId target, int sig);            // kernel/signal.c: kill_proc_info
    SysRet sys_pidfd_send_signal(TaskId current, int fd, int sig);      // kernel/signal.c
    SysRet sys_rt_sigaction(TaskId current, int sig, Handler h, unsigned flags);  // kernel/signal.c: do_sigaction
    SysRet sys_wait4(TaskId current, TaskId target, unsigned options);  // target kNoTask: -1
    SysRet sys_waitid(TaskId current, WaitType type, TaskId target, int fd, unsigned options);
    SysRet sys_pidfd_open(TaskId current, TaskId target, unsigned flags);  // kernel/pid.c
    SysRet sys_close(TaskId current, int fd);                           // fs/file.c
    SysRet sys_dup(TaskId current, int fd);                             // fs/file.c
    SysRet sys_poll(TaskId current, int fd);                            // fs/select.c -> pidfd_poll
    SysRet sys_pidfd_get_info(TaskId current, int fd);                  // fs/pidfs.c: pidfd_ioctl
    SysRet sys_prctl_set_child_subreaper(TaskId current, long long v);  // kernel/sys.c
    SysRet sys_prctl_get_child_subreaper(TaskId current);
    SysRet sys_prctl_set_no_new_privs(TaskId current, long long v);
    SysRet sys_prctl_get_no_new_privs(TaskId current);
    SysRet sys_prctl_set_pdeathsig(TaskId current, long long v);
    SysRet sys_prctl_get_pdeathsig(TaskId current);
    SysRet sys_setresuid(TaskId current, int uid);                      // kernel/sys.c
    SysRet drop_privileges(TaskId current, int uid);                    // setresgid + setresuid + capset(none)
    SysRet sys_execve(TaskId current, bool setuid_root, bool keep_fds); // fs/exec.c
    SysRet sys_ptrace_seize(TaskId current, TaskId target, bool exitkill);  // kernel/ptrace.c: ptrace_attach
    SysRet sys_ptrace_detach(TaskId current, TaskId target);            // kernel/ptrace.c: ptrace_detach
    SysRet signal_pending(TaskId current, int sig);                     // sigtimedwait with a zero timeout

    // ---- internal transitions (the kernel's own work after a call) ----
    struct Transition {
        enum Kind : uint8_t { DoExit, ExitNotify, ReleaseTask } kind;
        TaskId task;
    };
    // Enabled transitions, in a deterministic order (releases, then notifies, then exits; by task).
    std::vector<Transition> enabled_transitions() const;
    void run_transition(const Transition& t);
    // The first of enabled_transitions(), if any.
    bool next_transition(Transition& out) const;
    // Run every enabled transition until none is left; returns how many ran.
    int settle();

    // Observations of pidfs state for the checker.
    const File& file(int f) const { return files_[f]; }

    // Events the checker watches (appended by the paths that cause them).
    struct Event {
        enum Kind : uint8_t { AutokillSent } kind;
        int file = -1;          // the released file
        TaskId target = kNoTask;
        bool privileged_creator = false;  // the file's creator held CAP_SYS_ADMIN when it created it
    };
    std::vector<Event> events;

private:
    friend struct KernelTestAccess;

    // kernel/fork.c
    SysRet copy_process(TaskId current, const CloneArgs& args, uint64_t flags);
    SysRet copy_process_checks(const CloneArgs& args, const CloneCaller& caller, uint64_t flags) const;
    int clone3_args_valid(uint64_t flags, int exit_signal, uint64_t unknown) const;
    TaskId alloc_task();
    // kernel/exit.c
    void do_exit(TaskId tsk);
    void exit_files(TaskId tsk);
    void exit_notify(TaskId tsk);
    void forget_original_parent(TaskId father, std::vector<TaskId>& dead);
    TaskId find_child_reaper(TaskId father);
    TaskId find_new_reaper(TaskId father, TaskId child_reaper);
    TaskId find_alive_thread(TaskId p) const;
    void reparent_leader(TaskId father, TaskId p, std::vector<TaskId>& dead);
    void release_task(TaskId p);
    void unhash_process(TaskId p);
    SysRet do_wait(TaskId current, WaitType type, TaskId target, unsigned options, bool nonblock_pidfd);
    int wait_consider_task(TaskId current, unsigned options, TaskId target, bool ptrace, TaskId p, int& notask_error, SysRet& out);
    bool eligible_child(unsigned options, TaskId target, bool ptrace, TaskId p) const;
    int wait_task_zombie(unsigned options, TaskId p, SysRet& out);
    bool is_effectively_child(TaskId current, unsigned options, bool ptrace, TaskId target) const;
    // kernel/signal.c
    bool do_notify_parent(TaskId tsk, int sig);
    int check_kill_permission(TaskId current, int sig, TaskId t) const;
    bool kill_ok_by_cred(TaskId current, TaskId t) const;
    void send_signal(TaskId t, int sig, bool group, bool force);
    void complete_fatal(TaskId t);
    // kernel/ptrace.c
    void exit_ptrace(TaskId tracer, std::vector<TaskId>& dead);
    bool ptrace_detach_task(TaskId tracer, TaskId p);  // __ptrace_detach
    void ptrace_unlink(TaskId p);
    bool ignoring_children(int sighand) const;
    // fs/file.c, fs/pidfs.c
    int alloc_file(TaskId pid, bool thread, bool nonblock, bool autokill, bool clone3);
    int fd_install(int table, int file, bool cloexec);
    void fput(int file);
    void pidfs_file_release(int file);
    void pidfs_exit(TaskId p);
    unsigned pidfd_poll(int file) const;
    int pidfd_file(TaskId current, int fd, int& err) const;
    int copy_fd_table(int table);
    void put_fd_table(int table);
    // kernel/sys.c, kernel/cred.c
    void commit_creds(TaskId t, const Cred& next);
    void propagate_has_child_subreaper(TaskId p);
    // fs/exec.c
    void de_thread(TaskId tsk);

    Profile profile_;
    std::vector<Task> tasks_;
    std::vector<SignalStruct> signals_;
    std::vector<Sighand> sighands_;
    std::vector<FdTable> tables_;
    std::vector<File> files_;
    std::vector<int> free_addrs_;   // released file addresses, most recent last (slab reuse)
    int next_addr_ = 1;
    TaskId child_reaper_ = kInit;   // the namespace's child_reaper
    int exec_counter_ = 0;
};

}  // namespace pidlab::model
