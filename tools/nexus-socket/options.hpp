// Command-line options of the nexus-socket subcommands: `--name value`,
// `--name=value` and bare `--flag`, checked against what each subcommand
// accepts. Bad arguments are a UsageError (the tool prints usage, exits 2).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace nexus::tool {

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Options {
public:
    /// `valued`: options that take a value; `flags`: options that do not.
    /// Throws UsageError on an unknown option or a missing value.
    Options(const std::vector<std::string>& args, const std::set<std::string>& valued,
            const std::set<std::string>& flags);

    bool has(const std::string& name) const { return values_.count(name) != 0; }
    std::string get(const std::string& name, const std::string& fallback) const;
    /// Integer in [low, high]; UsageError naming the option otherwise.
    std::uint64_t get_uint(const std::string& name, std::uint64_t fallback, std::uint64_t low,
                           std::uint64_t high) const;
    double get_seconds(const std::string& name, double fallback) const;
    const std::vector<std::string>& positional() const { return positional_; }

private:
    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
};

} // namespace nexus::tool
