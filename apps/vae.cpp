// vae.cpp — a variational autoencoder on MNIST or Fashion-MNIST
// (apps/common/vae.h; the command line is apps/common/vae_cli.cpp).
//
//   ./apps/vae train [--dataset mnist|fashion] [--latent 16] [--epochs 20] [--recon bce|mse] [--beta 1] ...
//   ./apps/vae eval  [--checkpoint PATH] [--judge PATH] [--samples N] [--out DIR]
#include "common/vae.h"

int main(int argc, char** argv) { return dl::vae_app_main(argc, argv); }
