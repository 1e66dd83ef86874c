// The packed benchmark system explores exactly the states the model explorer
// finds in the same configuration (level by level), and finds the same violations.
#include "checker/explore.hpp"
#include "checker/packed.hpp"
#include "checker_test_util.hpp"

namespace pidlab::checktest {
namespace {

ExploreConfig model_config(int n) {
    ExploreConfig c;
    c.profile = prof(packed::kProfile);
    std::string err;
    EXPECT_TRUE(parse_alphabet(packed::kAlphabet, c.alphabet, err)) << err;
    c.bounds.tasks = n + 1;
    c.bounds.depth = 64;
    c.symmetry = false;
    c.mask = all_invariants();
    c.search.depth = 64;
    c.search.threads = 2;
    c.search.progress_secs = 0;
    c.search.stop_when_all_found = false;
    return c;
}

class PackedAgreesWithModel : public ::testing::TestWithParam<int> {};

TEST_P(PackedAgreesWithModel, SameStatesLevelByLevelAndSameViolations) {
    const int n = GetParam();
    auto mres = explore(model_config(n));
    packed::System sys;
    sys.n = n;
    sys.mask = all_invariants();
    SearchOptions o;
    o.depth = 64;
    o.threads = 2;
    o.progress_secs = 0;
    o.stop_when_all_found = false;
    SearchStats st;
    Bfs<packed::System> bfs(sys, o);
    auto found = bfs.run(st);
    EXPECT_EQ(st.states, mres.stats.states);
    EXPECT_EQ(st.level_sizes, mres.stats.level_sizes);
    EXPECT_TRUE(st.closed);
    EXPECT_TRUE(mres.stats.closed);
    std::vector<std::pair<std::string, size_t>> a, b;
    for (const auto& f : found) a.push_back({invariants()[f.inv].name, f.path.size()});
    for (const auto& c : mres.counterexamples) b.push_back({c.invariant, c.ops.size()});
    EXPECT_EQ(a, b);
    if (n >= 2) {
        EXPECT_FALSE(a.empty());  // the CLONE_PARENT leak needs two created tasks
    }
}

INSTANTIATE_TEST_SUITE_P(SmallN, PackedAgreesWithModel, ::testing::Values(1, 2, 3, 4));

TEST(Packed, EncodingRoundTrip) {
    packed::System s;
    uint64_t x = 0;
    x = packed::System::put(x, 3, packed::kLeak);
    EXPECT_EQ(packed::System::get(x, 3), packed::kLeak);
    EXPECT_EQ(packed::System::get(x, 2), 0);
    EXPECT_EQ(packed::System::sibling_kind(packed::kAutoreap), packed::kLeak);
    EXPECT_EQ(packed::System::sibling_kind(packed::kChosenZero), packed::kSiblingZero);
    uint64_t y = 0;
    s.apply(y, 1);  // T clone3(CLONE_AUTOREAP)
    EXPECT_EQ(packed::System::get(y, 0), packed::kAutoreap);
}

}  // namespace
}  // namespace pidlab::checktest
