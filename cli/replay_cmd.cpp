// pidlab replay: replay scenarios in the model and compare with their expectations.
#include <fmt/core.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "format/names.hpp"
#include "model/replay.hpp"

namespace pidlab::cli {

namespace {

void print_mismatches(const std::vector<scenario::Mismatch>& ms, const std::string& rule) {
    for (const auto& m : ms) fmt::print("        {}: expected {}, observed {}\n", m.key, m.expected, m.observed);
    if (!rule.empty()) fmt::print("        decided by {}\n", rule);
}

void print_trace(const scenario::Scenario& s, const model::ReplayResult& r, bool tree) {
    fmt::print("== {} ({}) on {}{}\n", s.file, s.name, r.profile,
               r.foreign ? fmt::format(" [written for {}]", s.kernel) : std::string());
    for (size_t i = 0; i < r.steps.size(); ++i) {
        const auto& out = r.steps[i];
        const auto& st = s.steps[i];
        std::string seen = scenario::describe_observation(out.obs);
        if (seen.empty()) seen = "(does not return)";
        fmt::print("  #{:<3} {:<40} -> {}{}\n", i, scenario::describe_step(st), seen,
                   out.mismatches.empty() ? (st.expect ? "  ok" : "") : "  MISMATCH");
        if (!out.mismatches.empty()) print_mismatches(out.mismatches, out.obs.rule);
        if (tree && !out.tree.empty()) {
            std::string t = out.tree;
            size_t pos = 0;
            while ((pos = t.find('\n', pos)) != std::string::npos && pos + 1 < t.size()) t.replace(pos, 1, "\n        "), pos += 9;
            fmt::print("        {}", t);
        }
    }
    if (r.error) {
        fmt::print("  ERROR {}\n", r.error->what());
        return;
    }
    for (const auto& [name, exp] : s.final) {
        const auto& obs = r.final.at(name);
        auto it = std::find_if(r.final_mismatches.begin(), r.final_mismatches.end(),
                               [&](const auto& p) { return p.first == name; });
        fmt::print("  final {:<12} {}{}\n", name, scenario::describe_observation(obs),
                   it == r.final_mismatches.end() ? "  ok" : "  MISMATCH");
        if (it != r.final_mismatches.end()) print_mismatches(it->second, obs.rule);
    }
}

}  // namespace

int cmd_replay(const ReplayArgs& a) {
    std::vector<std::string> files;
    try {
        files = scenario::collect_scenario_files(a.paths);
    } catch (const scenario::FormatError& e) {
        std::cerr << "pidlab replay: " << e.what() << "\n";
        return 2;
    }
    if (files.empty()) {
        std::cerr << "pidlab replay: no scenario files found in the paths given\n";
        return 2;
    }
    std::optional<model::Profile> forced;
    if (!a.kernel.empty()) {
        forced = model::find_profile(a.kernel);
        if (!forced) {
            std::cerr << "pidlab replay: unknown kernel profile \"" << a.kernel << "\" (known: ";
            for (const auto& n : model::profile_names()) std::cerr << n << " ";
            std::cerr << "or a version like 6.12.95)\n";
            return 2;
        }
    }
    int passed = 0, failed = 0, bad = 0;
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const auto& f : files) {
        scenario::Scenario s;
        try {
            s = scenario::load_scenario_file(f);
        } catch (const scenario::FormatError& e) {
            std::cerr << "pidlab replay: " << e.what() << "\n";
            ++bad;
            continue;
        }
        model::Profile p;
        if (forced) {
            p = *forced;
        } else {
            auto own = model::find_profile(s.kernel.empty() ? "7.1" : s.kernel);
            if (!own) {
                std::cerr << "pidlab replay: " << f << ": kernel: unknown kernel revision \"" << s.kernel << "\"\n";
                ++bad;
                continue;
            }
            p = *own;
        }
        auto r = model::replay(s, p, {a.tree, -1});
        if (r.error) {
            std::cerr << "pidlab replay: " << r.error->what() << "\n";
            ++bad;
        }
        bool ok = r.passed();
        if (a.json) {
            auto j = scenario::to_json(r.run_result());
            j["passed"] = ok;
            nlohmann::ordered_json ms = nlohmann::ordered_json::array();
            for (size_t i = 0; i < r.steps.size(); ++i)
                for (const auto& m : r.steps[i].mismatches)
                    ms.push_back({{"path", "steps[" + std::to_string(i) + "]"}, {"key", m.key}, {"expected", m.expected},
                                  {"observed", m.observed}, {"rule", r.steps[i].obs.rule}});
            for (const auto& [n, v] : r.final_mismatches)
                for (const auto& m : v)
                    ms.push_back({{"path", "final." + n}, {"key", m.key}, {"expected", m.expected}, {"observed", m.observed}});
            j["mismatches"] = ms;
            all.push_back(j);
        } else if (!a.quiet || !ok) {
            print_trace(s, r, a.tree);
            fmt::print("{} {}\n\n", ok ? "PASS" : (r.error ? "ERROR" : "FAIL"), s.name);
        }
        if (!r.error) ok ? ++passed : ++failed;
    }
    if (a.json) std::cout << all.dump(2) << "\n";
    (a.json ? std::cerr : std::cout) << passed << " passed, " << failed + bad << " failed\n";
    if (bad) return 2;
    return failed ? 1 : 0;
}

}  // namespace pidlab::cli

#include <CLI/CLI.hpp>

#include "model/profile.hpp"

namespace pidlab::cli {

Runner add_replay(CLI::App& app) {
    auto a = std::make_shared<ReplayArgs>();
    auto* sub = app.add_subcommand("replay", "Replay scenario files in the model and check their expectations");
    sub->add_option("--kernel", a->kernel,
                    "Kernel profile: 7.1, pre-7.1, rfc-v1, v2 ... v5, or a version such as 6.12.95 "
                    "(default: each scenario's own `kernel`)");
    sub->add_flag("--json", a->json, "Print the observations as JSON");
    sub->add_flag("--tree", a->tree, "Print the process tree after each step");
    sub->add_flag("-q,--quiet", a->quiet, "Print only failing scenarios and the summary");
    sub->add_option("paths", a->paths, "Scenario files or directories")->required();
    return [a] { return cmd_replay(*a); };
}

Runner add_profiles(CLI::App& app) {
    app.add_subcommand("profiles", "List the kernel profiles");
    return [] {
        for (const auto& n : model::profile_names()) std::cout << n << "\t" << model::find_profile(n)->describe() << "\n";
        return 0;
    };
}

}  // namespace pidlab::cli
