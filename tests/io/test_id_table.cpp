// The registry's table (io/src/id_table.hpp, private to io): every entry
// stays reachable through growth and through removals inside probe runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <random>
#include <vector>

#include "../../io/src/id_table.hpp"

namespace nexus::testing {
namespace {

struct Item {
    std::uint64_t key;
    std::uint64_t id() const noexcept { return key; }
};

using Table = io::detail::IdTable<Item>;

std::vector<std::uint64_t> ids_in(const Table& table) {
    std::vector<std::uint64_t> out;
    table.for_each([&](Item& item) { out.push_back(item.id()); });
    std::sort(out.begin(), out.end());
    return out;
}

TEST(IdTable, EmptyFindsNothing) {
    Table table;
    EXPECT_EQ(table.find(1), nullptr);
    EXPECT_EQ(table.erase(1), nullptr);
    EXPECT_EQ(table.size(), 0u);
    EXPECT_TRUE(ids_in(table).empty());
}

TEST(IdTable, SequentialIdsThroughGrowth) {
    std::vector<Item> items(1000);
    Table table;
    for (std::uint64_t i = 0; i < items.size(); ++i) {
        items[i].key = i + 1;
        table.insert(items[i]);
        ASSERT_EQ(table.find(i + 1), &items[i]);
    }
    EXPECT_EQ(table.size(), 1000u);
    EXPECT_LE(table.size() * 4, table.capacity() * 3); // load at most 3/4
    for (std::uint64_t i = 0; i < items.size(); ++i) {
        ASSERT_EQ(table.find(i + 1), &items[i]) << i;
    }
    EXPECT_EQ(table.find(0), nullptr);
    EXPECT_EQ(table.find(1001), nullptr);
}

TEST(IdTable, RandomInsertsAndRemovalsMatchAMap) {
    // Random ids collide in the table's home slots (long probe runs), and
    // removals from the middle of runs must shift the rest back correctly.
    std::mt19937_64 random(12345);
    std::vector<std::unique_ptr<Item>> storage;
    std::map<std::uint64_t, Item*> reference;
    Table table;
    for (int round = 0; round < 20'000; ++round) {
        const bool add = reference.size() < 50 || random() % 3 != 0;
        if (add) {
            // Few distinct values of the low bits as well as random ones.
            const std::uint64_t id = round % 2 == 0 ? random() : (random() % 4096) << 52;
            if (id == 0 || reference.count(id) != 0) {
                continue;
            }
            storage.push_back(std::make_unique<Item>(Item{id}));
            table.insert(*storage.back());
            reference[id] = storage.back().get();
        } else {
            auto it = reference.begin();
            std::advance(it, static_cast<long>(random() % reference.size()));
            ASSERT_EQ(table.erase(it->first), it->second);
            ASSERT_EQ(table.erase(it->first), nullptr); // gone
            reference.erase(it);
        }
        if (round % 997 == 0) {
            for (const auto& [id, item] : reference) {
                ASSERT_EQ(table.find(id), item) << "round " << round;
            }
        }
    }
    ASSERT_EQ(table.size(), reference.size());
    std::vector<std::uint64_t> expected;
    for (const auto& [id, item] : reference) {
        ASSERT_EQ(table.find(id), item);
        expected.push_back(id);
    }
    EXPECT_EQ(ids_in(table), expected);
    // Emptied, it still answers.
    for (const auto& [id, item] : reference) {
        ASSERT_EQ(table.erase(id), item);
    }
    EXPECT_EQ(table.size(), 0u);
    EXPECT_EQ(table.find(expected.front()), nullptr);
}

} // namespace
} // namespace nexus::testing
