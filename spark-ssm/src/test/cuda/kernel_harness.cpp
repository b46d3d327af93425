// Runs a script of kernel launches of src/main/cuda/ssm_kernels.cu on the host (host_emulation.h):
// the test double of a CUDA device for CudaKernelsOnHostTest and EmulatedDevice. One command per line:
//   buffer <id> <f32|f64|i32> <count> <file|->    allocate (from the raw little-endian file, or zeros)
//   launch <kernel> <gridX> <gridY> <blockX> <args...>
//          args: i:<int> l:<long> f:<float bits as int> p:<buffer id>:<element offset> n (a null pointer)
//   write <id> <file>                             the buffer's contents, raw
// Arguments are matched against the kernel's C signature: a count, kind or element type that does
// not match stops with a message naming the kernel and the argument.
#define SSM_HOST_EMULATION 1
#include "../../main/cuda/ssm_kernels.cu"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>

namespace {

struct Buffer {
  std::string type;
  std::vector<char> bytes;
  size_t elem() const { return type == "f64" ? 8 : 4; }
};

std::map<std::string, Buffer> buffers;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "kernel_harness: %s\n", message.c_str());
  std::exit(2);
}

struct Args {
  std::string kernel;
  std::vector<std::string> tokens;
  size_t next = 0;

  const std::string& take(const char* what) {
    if (next >= tokens.size()) die(kernel + ": too few arguments (wanted " + what + " at " + std::to_string(next) + ")");
    return tokens[next++];
  }

  template <typename P> P get() {
    const std::string& t = take(typeid(P).name());
    std::string where = kernel + " argument " + std::to_string(next - 1) + " ('" + t + "')";
    if constexpr (std::is_pointer_v<P>) {
      using E = std::remove_cv_t<std::remove_pointer_t<P>>;
      if (t == "n") return nullptr;
      if (t.rfind("p:", 0) != 0) die(where + ": expected a pointer");
      size_t colon = t.find(':', 2);
      std::string id = t.substr(2, colon - 2);
      long long off = std::stoll(t.substr(colon + 1));
      auto it = buffers.find(id);
      if (it == buffers.end()) die(where + ": no buffer " + id);
      const char* want = std::is_same_v<E, float> ? "f32" : std::is_same_v<E, double> ? "f64" : "i32";
      if (it->second.type != want) die(where + ": buffer " + id + " is " + it->second.type + ", expected " + want);
      if (off < 0 || (size_t)off * it->second.elem() > it->second.bytes.size()) die(where + ": offset out of range");
      return reinterpret_cast<P>(it->second.bytes.data() + off * it->second.elem());
    } else if constexpr (std::is_same_v<P, int>) {
      if (t.rfind("i:", 0) != 0) die(where + ": expected an int");
      return std::stoi(t.substr(2));
    } else if constexpr (std::is_same_v<P, long long>) {
      if (t.rfind("l:", 0) != 0) die(where + ": expected a long");
      return std::stoll(t.substr(2));
    } else if constexpr (std::is_same_v<P, float>) {
      if (t.rfind("f:", 0) != 0) die(where + ": expected a float");
      int32_t bits = (int32_t)std::stol(t.substr(2));
      float v;
      std::memcpy(&v, &bits, 4);
      return v;
    } else {
      static_assert(sizeof(P) == 0, "unsupported kernel parameter type");
    }
  }
};

template <typename... P> void run(void (*kernel)(P...), Args& a, dim3 grid, dim3 block) {
  std::tuple<P...> values{a.get<P>()...};  // braced: evaluated left to right
  if (a.next != a.tokens.size()) die(a.kernel + ": too many arguments");
  emu::launch(grid, block, [&] { std::apply(kernel, values); });
}

#define K(name) {#name, [](Args& a, dim3 g, dim3 b) { run(name, a, g, b); }}
#define K_NS(prefix, s) K(prefix##_##s##_n8), K(prefix##_##s##_n16), K(prefix##_##s##_n32), K(prefix##_##s##_n64)
#define K_ALL(prefix) K_NS(prefix, f32), K_NS(prefix, f64)

const std::map<std::string, void (*)(Args&, dim3, dim3)> kernels = {
    K_ALL(diag_scan_real), K_ALL(diag_scan_complex), K_ALL(diag_chunk_states), K_ALL(diag_scan_bwd),
    K_ALL(selective_scan_fwd), K_ALL(selective_scan_bwd), K_ALL(diag_carry), K_ALL(selective_carry), K(reduce_groups), K(reduce_batch_f64),
    K(reduce_batch_f32), K(embed_rows), K(matmul_xwt), K(add_norm), K(causal_conv1d), K(gated_group_norm), K(kconv_fwd), K(kconv_bwd_input),
    K(kconv_bwd_kernel),
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) die("usage: kernel_harness <script>");
  std::ifstream script(argv[1]);
  if (!script) die(std::string("cannot read ") + argv[1]);
  std::string line;
  while (std::getline(script, line)) {
    std::istringstream in(line);
    std::string cmd;
    if (!(in >> cmd)) continue;
    if (cmd == "buffer") {
      std::string id, type, file;
      long long count;
      in >> id >> type >> count >> file;
      Buffer b{type, {}};
      b.bytes.assign((size_t)count * b.elem(), 0);
      if (file != "-") {
        std::ifstream f(file, std::ios::binary);
        if (!f.read(b.bytes.data(), (std::streamsize)b.bytes.size())) die("cannot read " + file);
      }
      buffers[id] = std::move(b);
    } else if (cmd == "launch") {
      Args a;
      unsigned gx, gy, bx;
      in >> a.kernel >> gx >> gy >> bx;
      std::string t;
      while (in >> t) a.tokens.push_back(t);
      auto it = kernels.find(a.kernel);
      if (it == kernels.end()) die("no kernel " + a.kernel);
      it->second(a, dim3(gx, gy), dim3(bx));
    } else if (cmd == "write") {
      std::string id, file;
      in >> id >> file;
      auto it = buffers.find(id);
      if (it == buffers.end()) die("no buffer " + id);
      std::ofstream f(file, std::ios::binary);
      f.write(it->second.bytes.data(), (std::streamsize)it->second.bytes.size());
    } else {
      die("unknown command " + cmd);
    }
  }
  return 0;
}
