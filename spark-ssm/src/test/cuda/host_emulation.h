// Runs the CUDA C kernels of src/main/cuda on the host, for tests on machines without a GPU.
//
// Each thread of a block is a fiber (ucontext) with its own stack; a block's threads run one
// after another up to the next __syncthreads, then the next round, so kernels that share data
// through __shared__ memory and barriers behave as on a GPU. __shared__ variables become static
// (shared by the threads of the block; blocks run one at a time). No warp intrinsics or atomics.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <ucontext.h>
#include <vector>

struct dim3 {
  unsigned x, y, z;
  dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {}
};

namespace emu {
inline dim3 threadIdx_, blockIdx_, blockDim_, gridDim_;
inline ucontext_t scheduler;
inline ucontext_t* running = nullptr;
inline bool at_barrier = false;
}  // namespace emu

#define threadIdx (emu::threadIdx_)
#define blockIdx (emu::blockIdx_)
#define blockDim (emu::blockDim_)
#define gridDim (emu::gridDim_)
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define __restrict__ __restrict

using std::max;
using std::min;

inline void __syncthreads() {
  emu::at_barrier = true;
  swapcontext(emu::running, &emu::scheduler);
}

namespace emu {
struct Fiber {
  ucontext_t context;
  std::vector<char> stack;
  bool done = false;
  dim3 tid;
};
inline std::function<void()>* body = nullptr;
inline Fiber* current = nullptr;

inline void trampoline() {
  (*body)();
  current->done = true;
  swapcontext(&current->context, &scheduler);
}

// Runs f() as every thread of every block of the grid.
inline void launch(dim3 grid, dim3 block, std::function<void()> f) {
  gridDim_ = grid;
  blockDim_ = block;
  body = &f;
  unsigned threads = block.x * block.y * block.z;
  std::vector<Fiber> fibers(threads);
  for (auto& fb : fibers) fb.stack.resize(256 * 1024);
  for (unsigned bz = 0; bz < grid.z; bz++)
    for (unsigned by = 0; by < grid.y; by++)
      for (unsigned bx = 0; bx < grid.x; bx++) {
        blockIdx_ = dim3(bx, by, bz);
        unsigned i = 0;
        for (unsigned tz = 0; tz < block.z; tz++)
          for (unsigned ty = 0; ty < block.y; ty++)
            for (unsigned tx = 0; tx < block.x; tx++, i++) {
              Fiber& fb = fibers[i];
              fb.done = false;
              fb.tid = dim3(tx, ty, tz);
              getcontext(&fb.context);
              fb.context.uc_stack.ss_sp = fb.stack.data();
              fb.context.uc_stack.ss_size = fb.stack.size();
              fb.context.uc_link = nullptr;
              makecontext(&fb.context, trampoline, 0);
            }
        bool left = true;
        while (left) {  // one round: every live thread runs to its next barrier or its end
          left = false;
          for (auto& fb : fibers) {
            if (fb.done) continue;
            threadIdx_ = fb.tid;
            current = &fb;
            running = &fb.context;
            at_barrier = false;
            swapcontext(&scheduler, &fb.context);
            if (!fb.done) left = true;
          }
        }
      }
}
}  // namespace emu
