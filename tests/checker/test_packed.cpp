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

// The dense store (a bit per possible state word) and the hash set of state words are both
// exact: the same states, level by level, the same counterexamples (paths included), on one
// worker and on two.
TEST(Packed, DenseStoreAgreesWithTheHashSet) {
    for (int n : {1, 3, 5})
        for (int threads : {1, 2}) {
            packed::System sys;
            sys.n = n;
            sys.mask = all_invariants();
            auto run = [&](StoreKind kind, SearchStats& st) {
                SearchOptions o;
                o.depth = 64;
                o.threads = threads;
                o.progress_secs = 0;
                o.stop_when_all_found = false;
                o.store = kind;
                o.dense_bits = sys.key_bits();
                Bfs<packed::System> bfs(sys, o);
                return bfs.run(st);
            };
            SearchStats sd, sh;
            auto fd = run(StoreKind::Dense, sd);
            auto fh = run(StoreKind::Fp64, sh);
            EXPECT_EQ(sd.states, sh.states) << n << "/" << threads;
            EXPECT_EQ(sd.level_sizes, sh.level_sizes) << n << "/" << threads;
            EXPECT_EQ(sd.transitions, sh.transitions);
            ASSERT_EQ(fd.size(), fh.size());
            for (size_t i = 0; i < fd.size(); ++i) {
                EXPECT_EQ(fd[i].inv, fh[i].inv);
                if (threads == 1) {
                    EXPECT_EQ(fd[i].path, fh[i].path);  // the same order of records
                }
                EXPECT_EQ(fd[i].path.size(), fh[i].path.size());
            }
            EXPECT_EQ(sd.store_bytes - sd.trace_bytes, (uint64_t{1} << (4 * n)) / 8 < 4096 ? 4096 : (uint64_t{1} << (4 * n)) / 8)
                << "the dense store counts its whole bit array";
        }
}

TEST(Packed, DenseStoreRefusesAKeyBeyondItsUniverse) {
    Store<uint64_t> st(StoreKind::Dense, 1, 0, 8);
    EXPECT_TRUE(st.insert(0, 255));
    EXPECT_FALSE(st.insert(0, 255));
    EXPECT_THROW(st.insert(0, 256), std::out_of_range);
    EXPECT_THROW(Store<uint64_t>(StoreKind::Dense, 1, 0, 40), std::invalid_argument);
    EXPECT_THROW(Store<uint64_t>(StoreKind::Dense, 1, 0, 0), std::invalid_argument);
}

TEST(Packed, MayViolateIsExactOnTheNibbles) {
    // the SWAR prefilter: true exactly when some used nibble is a leak, a leaked zombie or an
    // autoreap zombie
    packed::System s;
    s.n = 7;
    for (uint64_t x : {uint64_t{0}, uint64_t{0x1234}, uint64_t{0x4444444}, uint64_t{0xd13d}})
        EXPECT_FALSE(s.may_violate(x)) << std::hex << x;
    for (int i = 0; i < 7; ++i)
        for (int v : {int(packed::kLeak), int(packed::kZombie) + packed::kLeak, int(packed::kZombie) + packed::kAutoreap}) {
            uint64_t x = packed::System::put(0x1111111, i, v);
            EXPECT_TRUE(s.may_violate(x)) << std::hex << x;
        }
    EXPECT_FALSE(s.may_violate(uint64_t{5} << 28));  // beyond the 7 used nibbles
}

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
