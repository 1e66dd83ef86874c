// model/profile.cpp: find_profile (names, revisions, version strings), the per-revision
// policy switches and bit values, the version gates, profile_matches.
#include "model_test_util.hpp"

namespace pidlab::test {
namespace {

constexpr uint64_t B34 = 1ULL << 34, B35 = 1ULL << 35, B36 = 1ULL << 36;

// find_profile: every advertised name resolves.
TEST(Profile, EveryNameResolves) {
    for (const auto& n : profile_names()) EXPECT_TRUE(find_profile(n).has_value()) << n;
    std::vector<std::string> revs = revision_names();
    ASSERT_EQ(revs.size(), 6u);
    EXPECT_EQ(revs.front(), "rfc-v1");
    EXPECT_EQ(revs.back(), "7.1");
}

// find_profile: version strings map to "7.1" (>= 7.1) or "pre-7.1" with that version; clone3 needs 5.3.
TEST(Profile, VersionStrings) {
    auto a = find_profile("6.12.95");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->name, "pre-7.1");
    EXPECT_EQ(a->major, 6);
    EXPECT_EQ(a->minor, 12);
    auto b = find_profile("7.2.13-cloud-amd64");
    ASSERT_TRUE(b);
    EXPECT_EQ(b->name, "7.1");
    EXPECT_EQ(b->minor, 2);
    EXPECT_TRUE(b->has_autoreap());
    auto c = find_profile("6.18.44-fc-v769");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->name, "pre-7.1");
    EXPECT_EQ(c->minor, 18);
    auto pre = find_profile("pre-7.1");
    ASSERT_TRUE(pre);
    EXPECT_EQ(pre->major, 6);
    EXPECT_EQ(pre->minor, 18);
    EXPECT_TRUE(find_profile("5.3"));
    for (const char* bad : {"5.2", "4.19", "garbage", "", "7", "100.1", "v6", "x7.1"})
        EXPECT_FALSE(find_profile(bad).has_value()) << bad;
}

// profile.cpp: the bit values and policies of each revision (kernel-semantics.md §0.2, §1.6, §8).
TEST(Profile, RevisionTable) {
    struct Row {
        const char* name;
        uint64_t autoreap, nnp, autokill;
        bool needs_pidfd, parent_allowed, reject_parent, priv_check;
        NnpMode nnp_mode;
        AutokillIdentity identity;
    };
    const Row rows[] = {
        {"rfc-v1", B34, 0, 0, true, true, false, false, NnpMode::Absent, AutokillIdentity::None},
        {"v2", B34, 0, B35, false, true, false, false, NnpMode::Absent, AutokillIdentity::SignalPointer},
        {"v3", B34, 0, B35, false, true, false, false, NnpMode::Absent, AutokillIdentity::SignalPointer},
        {"v4", B34, 0, B35, false, false, false, false, NnpMode::ImpliedByAutokill, AutokillIdentity::FileFlag},
        {"v5", B34, B36, B35, false, false, false, true, NnpMode::Explicit, AutokillIdentity::FileFlag},
        {"7.1", B34, B35, B36, false, false, true, true, NnpMode::Explicit, AutokillIdentity::FileFlag},
        {"7.1-no-parent-check", B34, B35, B36, false, false, false, true, NnpMode::Explicit,
         AutokillIdentity::FileFlag},
        {"pre-7.1", 0, 0, 0, false, false, false, false, NnpMode::Absent, AutokillIdentity::None},
    };
    for (const Row& r : rows) {
        Profile p = profile(r.name);
        EXPECT_EQ(p.bit_autoreap, r.autoreap) << r.name;
        EXPECT_EQ(p.bit_nnp, r.nnp) << r.name;
        EXPECT_EQ(p.bit_autokill, r.autokill) << r.name;
        EXPECT_EQ(p.autoreap_requires_pidfd, r.needs_pidfd) << r.name;
        EXPECT_EQ(p.autoreap_parent_allowed, r.parent_allowed) << r.name;
        EXPECT_EQ(p.reject_parent_from_autoreap, r.reject_parent) << r.name;
        EXPECT_EQ(p.autokill_privilege_check, r.priv_check) << r.name;
        EXPECT_EQ(p.nnp, r.nnp_mode) << r.name;
        EXPECT_EQ(p.autokill, r.identity) << r.name;
    }
    // the revisions run on the 7.0-rc/7.1 generic pidfd code
    EXPECT_TRUE(profile("v2").pidfd_info_exit());
    EXPECT_TRUE(profile("rfc-v1").pidfs());
}

// Profile: the generic pidfd features by kernel version.
TEST(Profile, VersionGates) {
    EXPECT_FALSE(profile("6.8").pidfs());
    EXPECT_TRUE(profile("6.9").pidfs());
    EXPECT_FALSE(profile("6.12").pidfd_get_info());
    EXPECT_TRUE(profile("6.13").pidfd_get_info());
    EXPECT_FALSE(profile("6.14").pidfd_info_exit());
    EXPECT_TRUE(profile("6.15").pidfd_info_exit());
    EXPECT_TRUE(profile("6.15").poll_excludes_delayed_leader());
    EXPECT_FALSE(profile("6.14").pidfd_open_enoent());
    EXPECT_TRUE(profile("6.15").pidfd_open_enoent());
    EXPECT_EQ(profile("6.10").get_info_missing_errno(), ENOTTY_);
    EXPECT_EQ(profile("6.11").get_info_missing_errno(), EINVAL_);
    EXPECT_TRUE(profile("7.1").at_least(6, 15));
    EXPECT_TRUE(profile("7.1").at_least(7, 1));
    EXPECT_FALSE(profile("7.1").at_least(7, 2));
}

// Profile::describe and profile_matches (a scenario's `kernel` field).
TEST(Profile, DescribeAndMatches) {
    EXPECT_EQ(profile("6.12").describe(), "pre-7.1 (6.12)");
    EXPECT_EQ(profile("v5").describe(), "v5");
    EXPECT_EQ(profile("7.1").describe(), "7.1");
    Profile p71 = profile("7.1");
    EXPECT_TRUE(profile_matches(p71, ""));
    EXPECT_TRUE(profile_matches(p71, "7.1"));
    EXPECT_TRUE(profile_matches(p71, "7.2"));
    EXPECT_FALSE(profile_matches(p71, "v5"));
    EXPECT_FALSE(profile_matches(p71, "pre-7.1"));
    EXPECT_FALSE(profile_matches(p71, "bogus"));
    Profile p612 = profile("6.12");
    EXPECT_TRUE(profile_matches(p612, "6.12"));
    EXPECT_TRUE(profile_matches(p612, "6.12.95"));
    EXPECT_TRUE(profile_matches(p612, "pre-7.1"));
    EXPECT_FALSE(profile_matches(p612, "6.1"));
    EXPECT_TRUE(profile_matches(profile("v5"), "v5"));
    EXPECT_FALSE(profile_matches(profile("7.1-no-parent-check"), "7.1"));
}

}  // namespace
}  // namespace pidlab::test
