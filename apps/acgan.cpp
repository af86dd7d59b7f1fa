// acgan.cpp — the command line of apps/acgan: an AC-GAN. The label one-hot
// goes into G; D also predicts the class. eval: the judge's accuracy per
// class and overall (bar: >= 0.985 overall, >= 0.96 per class).
// The flags and the work are shared with the other GANs of the family in
// apps/common/gan_family.h (docs/apps.md).
//
//   ./apps/acgan train   [--epochs N] [--batch B] [--ema D] [--resume] ...
//   ./apps/acgan eval    --checkpoint PATH [--judge PATH] [--samples N] [--seed S] [--out DIR]
//   ./apps/acgan sample  --checkpoint PATH [--out PNG] [--idx PREFIX --samples N]
#include "common/gan_family.h"

int main(int argc, char** argv) { return dl::gan_app_main("acgan", argc, argv); }
