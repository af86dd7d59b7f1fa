// cgan.cpp — the command line of apps/cgan: a conditional GAN. The label
// one-hot goes into G, and into D projected to a 28x28 plane concatenated to
// the image as a second channel. eval: the judge's accuracy on samples of
// requested labels (bar: >= 0.98 overall, >= 0.95 per digit, and a 10x10
// grid with one digit per column).
// The flags and the work are shared with the other GANs of the family in
// apps/common/gan_family.h (docs/apps.md).
//
//   ./apps/cgan train   [--epochs N] [--batch B] [--ema D] [--resume] ...
//   ./apps/cgan eval    --checkpoint PATH [--judge PATH] [--samples N] [--seed S] [--out DIR]
//   ./apps/cgan sample  --checkpoint PATH [--out PNG] [--idx PREFIX --samples N]
#include "common/gan_family.h"

int main(int argc, char** argv) { return dl::gan_app_main("cgan", argc, argv); }
