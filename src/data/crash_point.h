// crash_point.h — named places where a crash-consistency test can kill the
// process, so that the moments that matter (a checkpoint half-written, the
// log written but not yet the checkpoint) are hit every time rather than by
// luck with a timer. tests/crash_consistency.sh uses them.
//
// With DL_CRASH_POINT=<name> or <name>:<n> in the environment, the n-th time
// (default: the first) the process reaches crash_point(<name>) it sends
// itself SIGKILL: no handler, destructor or flush runs, exactly as with
// `kill -9` or a power cut. Without the variable a crash point does nothing.
//
// The points:
//   write:<file name>   in write_file_atomic (data/file.h): the temporary is
//                       complete and fsynced, not yet renamed
//   log-written         in the training loop: the log is written for a
//                       checkpoint, the checkpoint is not
//   checkpoint-written  in the training loop: right after a checkpoint
#pragma once

#include <string>

namespace dl {

void crash_point(const std::string& name);

}  // namespace dl
