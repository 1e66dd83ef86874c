// The ops of the scenario format as data, read from the op table (format/ops.def):
// scenario::Op, the argument and observation keys, and one OpInfo per op.
#pragma once

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

enum class Op : uint8_t {
#define PIDLAB_OP(Id, name, args, obs, attrs, fn) Id,
#include "format/ops.def"
#undef PIDLAB_OP
};

struct OpInfo {
    Op op;
    std::string_view name;
    KeyMask args;      // argument keys besides task/op/expect/comment
    KeyMask observes;  // observation keys (ObsKey bits) a step reports
    unsigned attrs;    // OpAttr bits
    bool has(OpAttr a) const { return (attrs & a) != 0; }
};

inline constexpr OpInfo kOps[] = {
#define K(key) bit(SK_##key)
#define O(key) bit(OK_##key)
#define PIDLAB_OP(Id, name, args, obs, attrs, fn) {Op::Id, name, args, obs, attrs},
#include "format/ops.def"
#undef PIDLAB_OP
#undef O
#undef K
};
inline constexpr size_t kOpCount = std::size(kOps);
inline constexpr KeyMask kStepCommonKeys = bit(SK_task) | bit(SK_op) | bit(SK_expect) | bit(SK_comment);

constexpr const OpInfo& op_info(Op op) { return kOps[static_cast<size_t>(op)]; }
static_assert([] {
    for (size_t i = 0; i < kOpCount; ++i)
        if (static_cast<size_t>(kOps[i].op) != i) return false;
    return true;
}());

}  // namespace pidlab::scenario
