// The ops of the scenario format as data, read from the op table (format/ops.def):
// scenario::Op, the argument and observation keys, and one OpInfo per op.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pidlab::scenario {

// The keys of a step, by id (bit i of a KeyMask is kStepKeys[i]).
enum StepKey : int {
    SK_task, SK_op, SK_expect, SK_comment, SK_flags, SK_exit_signal, SK_child, SK_pidfd, SK_code, SK_target,
    SK_sig, SK_fd, SK_handler, SK_options, SK_idtype, SK_as, SK_option, SK_value, SK_uid, SK_setuid_root,
    SK_keep_fds, SK_request, kStepKeyCount
};
inline constexpr std::string_view kStepKeys[kStepKeyCount] = {
    "task", "op", "expect", "comment", "flags", "exit_signal", "child", "pidfd", "code", "target", "sig",
    "fd", "handler", "options", "idtype", "as", "option", "value", "uid", "setuid_root", "keep_fds", "request"};

// The keys of an observation, by id.
enum ObsKey : int {
    OK_ret, OK_errno, OK_pid, OK_status, OK_revents, OK_exit, OK_value, OK_euid, OK_pending, OK_state, OK_parent,
    OK_exit_signal, OK_no_new_privs, OK_subreaper, OK_error, OK_rule, kObsKeyCount
};
inline constexpr std::string_view kObsKeys[kObsKeyCount] = {
    "ret", "errno", "pid", "status", "revents", "exit", "value", "euid", "pending", "state", "parent",
    "exit_signal", "no_new_privs", "subreaper", "error", "rule"};

using KeyMask = uint32_t;
constexpr KeyMask bit(int id) { return KeyMask{1} << id; }

// Op attributes (format/ops.def).
enum OpAttr : unsigned {
    OP_NEW_TASK = 1,     // names a new task (`child`)
    OP_NEW_FD = 2,       // names a new fd (clone3 `pidfd`, pidfd_open `fd`, dup `as`)
    OP_MAY_BLOCK = 4,    // the call can sleep: a step that would is refused
    OP_ENDS_CALLER = 8,  // a successful call never returns (exit, exit_group)
    OP_TASK_OBS = 16,    // observes a task rather than making a call
};

// How an argument is read, checked and written (format/scenario_reader.hpp, format/scenario.cpp).
enum class ArgKind : uint8_t {
    None,
    NewTask,           // the name of the task the step creates
    TaskRef,           // a task created by an earlier step
    TaskOrAny,         // a task, or -1 for any child (waitpid)
    FdRef,             // an fd name opened by an earlier step
    NewFd,             // the name of the fd the step creates
    ClonePidfd,        // the name of the pidfd, with CLONE_PIDFD (or raw flag bits)
    CloneFlags,        // CLONE_* names, or ABI numbers
    ExitSignal3,       // 0..1023 or a name, default 0 (clone3)
    ExitSignalLegacy,  // 0..255 or a name, default SIGCHLD (clone)
    ExitCode,          // 0..255, default 0
    SendSignal,        // 0..255 or a name; stop signals are refused (not modelled)
    SomeSignal,        // a signal, not 0
    Handler,           // SIG_DFL, SIG_IGN, catch
    SigactionFlags,    // SA_* names
    WaitOptions,       // W* names
    IdType,            // P_PID (with target), P_ALL, P_PIDFD (with fd)
    ByIdType,          // target or fd of waitid: read with its idtype
    PidfdFlags,        // PIDFD_THREAD, PIDFD_NONBLOCK
    PrctlOption,       // PR_* (the supported ones)
    PrctlValue,        // the setters' value (a signal name for PR_SET_PDEATHSIG)
    Uid,               // 0..65535
    SetuidRoot,        // bool, default false (always written)
    KeepFds,           // bool, default false (written when true)
    PtraceRequest,     // PTRACE_SEIZE, PTRACE_DETACH
    PtraceOptions,     // PTRACE_O_EXITKILL, with PTRACE_SEIZE
};
struct ArgSpec {
    StepKey key = SK_task;
    ArgKind kind = ArgKind::None;
};
inline constexpr size_t kMaxArgs = 4;

enum class Op : uint8_t {
#define PIDLAB_OP(Id, name, args, obs, attrs, fn) Id,
#include "format/ops.def"
#undef PIDLAB_OP
};

struct OpInfo {
    Op op;
    std::string_view name;
    ArgSpec arg[kMaxArgs];  // the arguments in order (kind None: no more)
    KeyMask args;      // argument keys besides task/op/expect/comment
    KeyMask observes;  // observation keys (ObsKey bits) a step reports
    unsigned attrs;    // OpAttr bits
    bool has(OpAttr a) const { return (attrs & a) != 0; }
};

inline constexpr size_t kOpCount = 0
#define PIDLAB_OP(Id, name, args, obs, attrs, fn) +1
#include "format/ops.def"
#undef PIDLAB_OP
    ;

inline constexpr std::array<OpInfo, kOpCount> kOps = [] {
    std::array<OpInfo, kOpCount> ops = {{
#define A(key, kind) ArgSpec{SK_##key, ArgKind::kind},
#define O(key) bit(OK_##key)
#define PIDLAB_OP(Id, name, args, obs, attrs, fn) {Op::Id, name, {args}, 0, obs, attrs},
#include "format/ops.def"
#undef PIDLAB_OP
#undef O
#undef A
    }};
    for (auto& o : ops)
        for (const auto& a : o.arg)
            if (a.kind != ArgKind::None) o.args |= bit(a.key);
    return ops;
}();
inline constexpr KeyMask kStepCommonKeys = bit(SK_task) | bit(SK_op) | bit(SK_expect) | bit(SK_comment);

constexpr const OpInfo& op_info(Op op) { return kOps[static_cast<size_t>(op)]; }
static_assert([] {
    for (size_t i = 0; i < kOpCount; ++i)
        if (static_cast<size_t>(kOps[i].op) != i) return false;
    return true;
}());

}  // namespace pidlab::scenario
