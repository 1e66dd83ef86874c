#include "model/profile.hpp"

#include <cstdio>
#include <regex>

namespace pidlab::model {

namespace {

constexpr uint64_t kBit34 = 1ULL << 34, kBit35 = 1ULL << 35, kBit36 = 1ULL << 36;

Profile mainline_7_1() {
    // include/uapi/linux/sched.h @07c3ef58: AUTOREAP 1<<34, NNP 1<<35, PIDFD_AUTOKILL 1<<36.
    Profile p;
    p.name = "7.1";
    p.major = 7, p.minor = 1;
    p.bit_autoreap = kBit34, p.bit_nnp = kBit35, p.bit_autokill = kBit36;
    p.reject_parent_from_autoreap = true;  // kernel/fork.c: copy_process, Oleg's check
    p.nnp = NnpMode::Explicit;
    p.autokill_privilege_check = true;
    p.autokill = AutokillIdentity::FileFlag;
    return p;
}

Profile pre_7_1(int major, int minor) {
    Profile p;
    p.name = "pre-7.1";
    p.major = major, p.minor = minor;
    return p;
}

// The posted revisions (kernel-semantics.md §1.6, §6.3, §8). Their generic pidfd
// behaviour is that of the tree they were based on (7.0-rc): the 7.1 one.
Profile revision(const std::string& name) {
    Profile p = mainline_7_1();
    p.name = name;
    p.reject_parent_from_autoreap = false;
    if (name == "rfc-v1") {
        p.bit_nnp = p.bit_autokill = 0;
        p.autoreap_requires_pidfd = true;
        p.autoreap_parent_allowed = true;
        p.nnp = NnpMode::Absent;
        p.autokill_privilege_check = false;
        p.autokill = AutokillIdentity::None;
    } else if (name == "v2" || name == "v3") {
        p.bit_nnp = 0, p.bit_autokill = kBit35;
        p.autoreap_parent_allowed = true;
        p.nnp = NnpMode::Absent;
        p.autokill_privilege_check = false;
        p.autokill = AutokillIdentity::SignalPointer;
    } else if (name == "v4") {
        p.bit_nnp = 0, p.bit_autokill = kBit35;
        p.nnp = NnpMode::ImpliedByAutokill;
        p.autokill_privilege_check = false;
    } else if (name == "v5") {
        p.bit_autokill = kBit35, p.bit_nnp = kBit36;  // v5 as posted; 7.1 swapped them
    }
    return p;
}

}  // namespace

std::string Profile::describe() const {
    std::string v = std::to_string(major) + "." + std::to_string(minor);
    if (name == "pre-7.1" || (name == "7.1" && v != "7.1")) return name + " (" + v + ")";
    return name;
}

std::vector<std::string> revision_names() { return {"rfc-v1", "v2", "v3", "v4", "v5", "7.1"}; }

std::vector<std::string> profile_names() {
    return {"7.1", "7.2", "7.3", "pre-7.1", "6.1", "6.12", "6.18", "rfc-v1", "v2", "v3", "v4", "v5",
            "7.1-no-parent-check"};
}

std::optional<Profile> find_profile(const std::string& s) {
    if (s == "7.1") return mainline_7_1();
    if (s == "pre-7.1") return pre_7_1(6, 18);
    if (s == "rfc-v1" || s == "v2" || s == "v3" || s == "v4" || s == "v5") return revision(s);
    if (s == "7.1-no-parent-check") {
        Profile p = mainline_7_1();
        p.name = s;
        p.reject_parent_from_autoreap = false;
        return p;
    }
    // A kernel version string: 6.12, 6.12.95, 7.2.13-cloud-amd64, 6.18.44-fc-v769 ...
    static const std::regex ver(R"(^(\d+)\.(\d+)(\.\d+)?([-+~.].*)?$)");
    std::smatch m;
    if (!std::regex_match(s, m, ver)) return std::nullopt;
    int major = std::stoi(m[1]), minor = std::stoi(m[2]);
    if (major < 5 || (major == 5 && minor < 3) || major > 99) return std::nullopt;  // clone3 appeared in 5.3
    if (major > 7 || (major == 7 && minor >= 1)) {
        Profile p = mainline_7_1();
        p.major = major, p.minor = minor;
        p.name = "7.1";
        return p;
    }
    return pre_7_1(major, minor);
}

bool profile_matches(const Profile& p, const std::string& k) {
    if (k.empty()) return true;
    if (k == p.name) return true;
    auto other = find_profile(k);
    if (!other) return false;
    return other->name == p.name && (p.name != "pre-7.1" || (k == "pre-7.1") ||
                                     (other->major == p.major && other->minor == p.minor));
}

}  // namespace pidlab::model
