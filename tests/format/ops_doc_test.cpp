// docs/scenario-format.md against the op table (format/ops.def): an op without its section,
// a section without its op, or a section that leaves out one of its op's argument or
// observation keys fails here.
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "format/ops.hpp"

namespace {

using namespace pidlab::scenario;

struct Section {
    std::string op, text;
};

// The "### `op`" sections of the page's "## Ops" part, in order.
std::vector<Section> op_sections(const std::string& doc) {
    std::vector<Section> out;
    std::istringstream in(doc);
    std::string line;
    bool in_ops = false;
    Section* cur = nullptr;
    while (std::getline(in, line)) {
        if (line.rfind("## ", 0) == 0) {
            in_ops = line == "## Ops";
            cur = nullptr;
            continue;
        }
        if (!in_ops) continue;
        if (line.rfind("### `", 0) == 0 && line.size() > 6 && line.back() == '`') {
            out.push_back({line.substr(5, line.size() - 6), ""});
            cur = &out.back();
            continue;
        }
        if (cur) cur->text += line + "\n";
    }
    return out;
}

// What is wrong with the page, one line per problem.
std::vector<std::string> problems(const std::string& doc) {
    std::vector<std::string> p;
    const auto sections = op_sections(doc);
    std::set<std::string> documented;
    for (const auto& s : sections) {
        documented.insert(s.op);
        bool known = false;
        for (const auto& info : kOps) known = known || info.name == s.op;
        if (!known) p.push_back("section for \"" + s.op + "\", which is not an op of format/ops.def");
    }
    for (const auto& info : kOps) {
        const std::string name(info.name);
        if (!documented.count(name)) {
            p.push_back("op \"" + name + "\" has no section");
            continue;
        }
        const Section* s = nullptr;
        for (const auto& x : sections)
            if (x.op == name) s = &x;
        auto mentions = [&](std::string_view key) { return s->text.find("`" + std::string(key) + "`") != std::string::npos; };
        for (int k = 0; k < kStepKeyCount; ++k)
            if ((info.args & bit(k)) && !mentions(kStepKeys[k]))
                p.push_back("op \"" + name + "\": argument `" + std::string(kStepKeys[k]) + "` is not documented");
        for (int k = 0; k < kObsKeyCount; ++k)
            if ((info.observes & bit(k)) && !mentions(kObsKeys[k]))
                p.push_back("op \"" + name + "\": observation `" + std::string(kObsKeys[k]) + "` is not documented");
    }
    // The sections follow the table's order, so a reader finds them where the code lists them.
    for (size_t i = 0, j = 0; i < sections.size() && j < kOpCount; ++i, ++j)
        if (sections[i].op != kOps[j].name) {
            p.push_back("sections out of the op table's order at \"" + sections[i].op + "\"");
            break;
        }
    return p;
}

std::string read_doc() {
    std::ifstream f(std::string(PIDLAB_SOURCE_DIR) + "/docs/scenario-format.md");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += x + "\n";
    return s;
}

TEST(OpsDoc, EveryOpHasItsSectionAndEverySectionItsOp) {
    const std::string doc = read_doc();
    ASSERT_FALSE(doc.empty()) << "docs/scenario-format.md is missing";
    EXPECT_EQ(op_sections(doc).size(), kOpCount);
    EXPECT_EQ(join(problems(doc)), "");
}

// The check itself fails when the page and the table part.
TEST(OpsDoc, TheCheckFindsAMissingSectionAnExtraOneAndAMissingKey) {
    const std::string doc = read_doc();
    {
        std::string d = doc;
        auto a = d.find("### `dup`");
        auto b = d.find("### `poll`");
        ASSERT_NE(a, std::string::npos);
        d.erase(a, b - a);
        EXPECT_NE(join(problems(d)).find("op \"dup\" has no section"), std::string::npos);
    }
    {
        std::string d = doc + "\n### `setpgid`\n\nNot an op yet.\n";
        EXPECT_NE(join(problems(d)).find("\"setpgid\", which is not an op"), std::string::npos);
    }
    {
        std::string d = doc;
        auto a = d.find("`as` names the new fd");
        ASSERT_NE(a, std::string::npos);
        d.replace(a, 4, "AS");
        EXPECT_NE(join(problems(d)).find("op \"dup\": argument `as` is not documented"), std::string::npos);
    }
    {
        std::string d = doc;
        const std::string was = "Observes `ret` and `revents` (or `errno`).";
        auto a = d.find(was);
        ASSERT_NE(a, std::string::npos);
        d.replace(a, was.size(), "Observes `ret` (or `errno`).");
        EXPECT_NE(join(problems(d)).find("op \"poll\": observation `revents` is not documented"), std::string::npos);
    }
}

}  // namespace
