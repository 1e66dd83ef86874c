// Kernel profiles: which kernel (mainline version or patch revision of the
// CLONE_AUTOREAP series) the model behaves as. A profile is data plus a few
// policy switches read at the hook points of the model's kernel paths; no
// model code is copied per revision.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pidlab::model {

// How pidfs_file_release recognises the clone3 autokill file.
enum class AutokillIdentity : uint8_t {
    None,           // no CLONE_PIDFD_AUTOKILL at all
    SignalPointer,  // v2/v3: signal->autokill_pidfd == file (a reusable address)
    FileFlag,       // v4 on: PIDFD_AUTOKILL in file->f_flags
};

enum class NnpMode : uint8_t {
    Absent,             // no CLONE_NNP
    ImpliedByAutokill,  // v4: every CLONE_PIDFD_AUTOKILL child gets no_new_privs
    Explicit,           // v5, 7.1: CLONE_NNP
};

struct Profile {
    std::string name;        // "7.1", "pre-7.1", "rfc-v1", "v2" ... "v5"
    int major = 7, minor = 1;  // the kernel version whose generic pidfd behaviour applies

    // ---- the series (kernel/fork.c copy_process, fs/pidfs.c, kernel/signal.c) ----
    // Bit values that carry the new flags in clone3's flags (0: the flag does not exist).
    uint64_t bit_autoreap = 0, bit_nnp = 0, bit_autokill = 0;
    bool autoreap_requires_pidfd = false;      // rfc-v1: AUTOREAP without PIDFD -> EINVAL
    bool autoreap_parent_allowed = false;      // rfc-v1..v3: AUTOREAP|PARENT allowed, forces exit_signal 0
    bool reject_parent_from_autoreap = false;  // merged 7.1: CLONE_PARENT by an autoreap process -> EINVAL
    NnpMode nnp = NnpMode::Absent;
    bool autokill_privilege_check = false;     // v5, 7.1: AUTOKILL needs CLONE_NNP or CAP_SYS_ADMIN, else EPERM
    AutokillIdentity autokill = AutokillIdentity::None;

    bool has_autoreap() const { return bit_autoreap != 0; }
    bool has_autokill() const { return bit_autokill != 0; }
    bool has_nnp_flag() const { return bit_nnp != 0; }

    // ---- generic pidfd features by version ----
    bool at_least(int ma, int mi) const { return major > ma || (major == ma && minor >= mi); }
    bool pidfs() const { return at_least(6, 9); }                    // PIDFD_THREAD, CLONE_PIDFD|CLONE_THREAD, EPOLLHUP
    bool pidfd_get_info() const { return at_least(6, 13); }          // PIDFD_GET_INFO
    bool pidfd_info_exit() const { return at_least(6, 15); }         // PIDFD_INFO_EXIT, pidfs_exit in release_task
    // pidfd_poll ignores a delayed group leader even through a PIDFD_THREAD pidfd. Mainline
    // has it since 6.15; Debian's 6.12.95 measured the same (a stable backport), so the
    // pre-6.15 rule (`thread || thread_group_empty`) is kept only below 6.12.
    bool poll_excludes_delayed_leader() const { return at_least(6, 12); }
    bool pidfd_open_enoent() const { return at_least(6, 15); }       // non-leader without PIDFD_THREAD: ENOENT (was EINVAL)
    // PIDFD_GET_INFO on a kernel without it: no ioctl at all before pidfs ioctls (ENOTTY),
    // then pidfd_ioctl rejects a non-zero argument for unknown commands (EINVAL).
    int get_info_missing_errno() const { return at_least(6, 11) ? 22 : 25; }

    std::string describe() const;  // "7.1", "pre-7.1 (6.12)", "v5"
};

// Profiles by name: "7.1" (and "7.2", "7.3": the same semantics), "pre-7.1",
// the patch revisions "rfc-v1", "v2", "v3", "v4", "v5", "7.1-no-parent-check"
// (the merged kernel without Oleg's CLONE_PARENT check), or a kernel version
// string such as "6.12.95" or "7.2.13-cloud-amd64".
std::optional<Profile> find_profile(const std::string& name_or_version);
std::vector<std::string> profile_names();
// Revisions of the series, in order.
std::vector<std::string> revision_names();
// Does a profile satisfy a scenario's `kernel` field (its own kernel)?
bool profile_matches(const Profile& p, const std::string& scenario_kernel);

}  // namespace pidlab::model
