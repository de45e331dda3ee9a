// promtool's block table (`promtool tsdb list` and the blocks printed by
// `create-blocks-from`): Go's text/tabwriter with minwidth 13 and padding 2
// over "BLOCK ULID, MIN TIME, MAX TIME, DURATION, NUM SAMPLES, NUM CHUNKS,
// NUM SERIES, SIZE".
//
//   std::vector<std::vector<std::string>> rows = {BlockTableHeader()};
//   rows.push_back(BlockTableRow(*block, /*human=*/false));
//   WriteBlockTable(rows, std::cout);
//
// Ownership: results are plain values. Thread safety: pure functions.
#ifndef FRONTENDS_CLI_BLOCK_TABLE_H_
#define FRONTENDS_CLI_BLOCK_TABLE_H_

#include <ostream>
#include <string>
#include <vector>

#include "tsdb/block/block.h"

namespace tsdb::cli {

std::vector<std::string> BlockTableHeader();
// One block's cells; `human`: times as UTC dates, size in KiB/MiB units.
std::vector<std::string> BlockTableRow(const block::Block& b, bool human);
// Column widths from these rows only (as one tabwriter flush).
void WriteBlockTable(const std::vector<std::vector<std::string>>& rows,
                     std::ostream& out);

}  // namespace tsdb::cli

#endif  // FRONTENDS_CLI_BLOCK_TABLE_H_
