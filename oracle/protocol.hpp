// The wire protocol between the oracle's controller and its puppets.
//
// Every scenario task is a puppet: a process (or thread) that blocks all
// signals and waits on its own SOCK_SEQPACKET connection to the controller for
// the next command, performs that one system call itself and answers with a
// Reply. New puppets (fork/clone children, threads, and the scenario's init)
// connect to the controller's listening socket and introduce themselves with a
// Hello. Messages are fixed-size plain structs: the puppet side runs without
// libc (it may share memory and TLS with its creator after CLONE_VM), so
// nothing here may need constructors, allocation or errno.
#pragma once

#include <cstdint>

#include "format/ops.hpp"

namespace pidlab::oracle::proto {

inline constexpr uint32_t kMagic = 0x706c6f72;  // "rolp"
inline constexpr int kMaxFds = 256;             // scenario fds listed in one execve
inline constexpr int kCtlFdBase = 100;          // puppets keep their channel at or above this number

enum class Cmd : uint32_t {
    None = 0,
    // scenario ops, one system call each: the op table (format/ops.def), in its order
#define PIDLAB_OP(Id, name, args, obs, attrs, fn) Id,
#include "format/ops.def"
#undef PIDLAB_OP
    // the controller's own requests
    GetSubreaper,  // observe: prctl(PR_GET_CHILD_SUBREAPER)
    SetupRoot,     // T before the first step: credentials from the scenario's `root`
    Stall,         // test hook: sleep `value` ms before answering
};

// The command of a scenario op.
constexpr Cmd cmd_of(scenario::Op op) { return static_cast<Cmd>(static_cast<uint32_t>(op) + 1); }

enum class Handler : int32_t { Dfl = 0, Ign = 1, Catch = 2 };

// prctl options as the kernel numbers them (linux/prctl.h).
inline constexpr int kPR_SET_PDEATHSIG = 1, kPR_GET_PDEATHSIG = 2, kPR_SET_CHILD_SUBREAPER = 36,
                     kPR_GET_CHILD_SUBREAPER = 37, kPR_SET_NO_NEW_PRIVS = 38, kPR_GET_NO_NEW_PRIVS = 39;

// waitid idtype and ptrace requests (P_PIDFD and PTRACE_SEIZE are missing from older headers).
inline constexpr int kP_PIDFD = 3;
inline constexpr int kPTRACE_SEIZE = 0x4206, kPTRACE_DETACH = 17;

struct Command {
    uint32_t magic;
    Cmd cmd;
    int32_t child;        // creations: index of the new task (its Hello names it)
    int32_t exit_signal;  // clone3 / clone
    uint64_t flags;       // clone flags (ABI bits), pidfd_open / sigaction flags, wait / ptrace options
    int64_t pid;          // target pid in the actor's pid namespace (-1: any); P_PID id
    int32_t fd;           // an fd number of the actor's table
    int32_t sig;
    int32_t code;         // exit code
    Handler handler;
    int32_t idtype;       // waitid: P_ALL 0, P_PID 1, P_PIDFD 3
    int32_t option;       // prctl option / ptrace request
    int64_t value;        // prctl argument; Stall: milliseconds
    int32_t uid;          // drop_privileges / setresuid / SetupRoot
    int32_t caps;         // SetupRoot: keep all capabilities (1) or none (0)
    int32_t setuid_root;  // execve: which helper
    int32_t keep_fds;     // execve: clear FD_CLOEXEC on the listed fds first
    int32_t nfds;         // execve: the scenario fds of the actor's table
    int32_t fds[kMaxFds];
};

enum class Kind : uint32_t { Hello = 1, Reply = 2 };

struct Reply {
    uint32_t magic;
    Kind kind;
    int32_t child;       // Hello: the index the creator gave
    int32_t tid;         // Hello / execve: gettid() in the puppet's own pid namespace
    int64_t ret;         // the raw system call result: >= 0, or -errno
    int64_t value;       // waitpid status, poll revents, prctl getter value, euid after execve
    int32_t pidfd;       // clone3 / clone with CLONE_PIDFD: the new fd number
    int32_t child_pid;   // waitid: siginfo si_pid
    int32_t child_code;  // si_code
    int32_t child_status;  // si_status
    uint64_t info_mask;  // PIDFD_GET_INFO: the mask the kernel returned
    int32_t exit_code;   // PIDFD_GET_INFO: exit_code (a wait status)
    int32_t would_block; // waitpid / waitid: nothing was ready and the step did not ask for WNOHANG
    int32_t nfds;        // execve: the listed fds that are still open in the new image
    int32_t fds[kMaxFds];
};

}  // namespace pidlab::oracle::proto
