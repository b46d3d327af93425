package org.sparkssm.gpu;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoD;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD8;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import jcuda.CudaException;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

/**
 * A CUDA device through the driver API (JCuda): the device's primary context (the one the CUDA
 * runtime, PyTorch and the RAPIDS plugin also use, so the project shares the GPU with them instead
 * of holding a context of its own), the kernels' module loaded once from the PTX resource, and a
 * pinned host buffer through which every copy goes in pieces of up to {@link #STAGING_BYTES}
 * (pageable copies are staged by the driver anyway, slower).
 *
 * <p>Only {@link Cuda} creates these, after its probe succeeded; one per device ordinal per JVM,
 * shared by the tasks of an executor, so every operation is synchronized.
 */
final class CudaDevice implements Device {
  static final long STAGING_BYTES = 32L << 20;

  private final int ordinal;
  private final String name;
  private final CUcontext context = new CUcontext();
  private final CUmodule module = new CUmodule();
  private final Map<String, CUfunction> functions = new HashMap<>();
  private Pointer staging;
  private ByteBuffer stagingBytes;

  private CudaDevice(int ordinal) {
    this.ordinal = ordinal;
    CUdevice device = new CUdevice();
    cuDeviceGet(device, ordinal);
    byte[] nameBytes = new byte[256];
    cuDeviceGetName(nameBytes, nameBytes.length, device);
    int end = 0;
    while (end < nameBytes.length && nameBytes[end] != 0) {
      end++;
    }
    this.name = new String(nameBytes, 0, end, java.nio.charset.StandardCharsets.US_ASCII);
    cuDevicePrimaryCtxRetain(context, device);
    cuCtxSetCurrent(context);
    loadKernels();
  }

  /**
   * Loads the PTX; a driver older than the nvcc that wrote it refuses its {@code .version}, so it
   * is retried once declaring the ISA version that driver supports (the kernels use nothing newer:
   * PtxResourceTest assembles that variant too).
   */
  private void loadKernels() {
    byte[] ptx = Ptx.text();
    try {
      cuModuleLoadData(module, ptx);
    } catch (CudaException e) {
      String isa = Ptx.isaFor(driverVersion());
      if (!String.valueOf(e.getMessage()).contains("UNSUPPORTED_PTX_VERSION") || isa == null) {
        throw e;
      }
      cuModuleLoadData(module, Ptx.withVersion(ptx, isa));
    }
  }

  /** Initializes the driver and counts devices; throws (a {@link LinkageError} without libcuda). */
  static int initAndCount() {
    JCudaDriver.setExceptionsEnabled(true);
    cuInit(0);
    int[] count = new int[1];
    cuDeviceGetCount(count);
    return count[0];
  }

  static int driverVersion() {
    int[] v = new int[1];
    cuDriverGetVersion(v);
    return v[0];
  }

  static CudaDevice open(int ordinal) {
    return new CudaDevice(ordinal);
  }

  @Override
  public String describe() {
    return "GPU " + ordinal + " (" + name + ")";
  }

  @Override
  public synchronized Buffer alloc(Buffer.Type type, long count) {
    current();
    CUdeviceptr ptr = new CUdeviceptr();
    long bytes = Math.max(1, count) * type.bytes;
    try {
      cuMemAlloc(ptr, bytes);
    } catch (CudaException e) {
      throw new IllegalStateException(describe() + ": cannot allocate " + bytes + " bytes (" + e.getMessage() + ")", e);
    }
    cuMemsetD8(ptr, (byte) 0, bytes);
    return new Buffer(type, count, 0, ptr);
  }

  @Override
  public synchronized void free(Buffer buffer) {
    if (buffer != null && buffer.offset == 0) {
      current();
      cuMemFree((CUdeviceptr) buffer.handle);
    }
  }

  @Override
  public synchronized void zero(Buffer buffer, long count) {
    buffer.require(buffer.type, count, "zero");
    current();
    cuMemsetD8(pointer(buffer), (byte) 0, count * buffer.type.bytes);
  }

  private static CUdeviceptr pointer(Buffer b) {
    return ((CUdeviceptr) b.handle).withByteOffset(b.offset * b.type.bytes);
  }

  private void current() {
    cuCtxSetCurrent(context); // a task thread may be new to this context
  }

  private ByteBuffer staging() {
    if (staging == null) {
      staging = new Pointer();
      cuMemAllocHost(staging, STAGING_BYTES);
      stagingBytes = staging.getByteBuffer(0, STAGING_BYTES).order(ByteOrder.nativeOrder());
    }
    return stagingBytes;
  }

  /** Moves {@code count} elements from element {@code from} of a host array into or out of the staging buffer. */
  private interface Stage {
    void move(ByteBuffer staging, int from, int count);
  }

  /** Copies n elements to {@code dst} in pieces through the pinned buffer, each filled by {@code fill}. */
  private void copyIn(Buffer dst, int n, Stage fill) {
    current();
    ByteBuffer s = staging();
    int per = (int) (STAGING_BYTES / dst.type.bytes);
    for (int done = 0; done < n; done += per) {
      int k = Math.min(per, n - done);
      s.clear();
      fill.move(s, done, k);
      cuMemcpyHtoD(pointer(dst.at(done)), staging, (long) k * dst.type.bytes);
    }
  }

  /** Copies n elements of {@code src} in pieces through the pinned buffer, each emptied by {@code drain}. */
  private void copyOut(Buffer src, int n, Stage drain) {
    current();
    ByteBuffer s = staging();
    int per = (int) (STAGING_BYTES / src.type.bytes);
    for (int done = 0; done < n; done += per) {
      int k = Math.min(per, n - done);
      cuMemcpyDtoH(staging, pointer(src.at(done)), (long) k * src.type.bytes); // waits for the launches before it
      s.clear();
      drain.move(s, done, k);
    }
  }

  @Override
  public synchronized void upload(Buffer dst, float[] src, int off, int n) {
    dst.require(Buffer.Type.F32, n, "upload");
    copyIn(dst, n, (s, from, k) -> s.asFloatBuffer().put(src, off + from, k));
  }

  @Override
  public synchronized void upload(Buffer dst, double[] src, int off, int n) {
    dst.require(Buffer.Type.F64, n, "upload");
    copyIn(dst, n, (s, from, k) -> s.asDoubleBuffer().put(src, off + from, k));
  }

  @Override
  public synchronized void upload(Buffer dst, int[] src, int off, int n) {
    dst.require(Buffer.Type.I32, n, "upload");
    copyIn(dst, n, (s, from, k) -> s.asIntBuffer().put(src, off + from, k));
  }

  @Override
  public synchronized void download(Buffer src, float[] dst, int off, int n) {
    src.require(Buffer.Type.F32, n, "download");
    copyOut(src, n, (s, from, k) -> s.asFloatBuffer().get(dst, off + from, k));
  }

  @Override
  public synchronized void download(Buffer src, double[] dst, int off, int n) {
    src.require(Buffer.Type.F64, n, "download");
    copyOut(src, n, (s, from, k) -> s.asDoubleBuffer().get(dst, off + from, k));
  }

  @Override
  public synchronized void launch(String kernel, int gridX, int gridY, int blockX, Object... args) {
    current();
    CUfunction f = functions.computeIfAbsent(kernel, k -> {
      CUfunction fn = new CUfunction();
      cuModuleGetFunction(fn, module, k);
      return fn;
    });
    NativePointerObject[] params = new NativePointerObject[args.length];
    for (int i = 0; i < args.length; i++) {
      Object a = args[i];
      if (a == null) {
        params[i] = Pointer.to(new CUdeviceptr());
      } else if (a instanceof Buffer) {
        params[i] = Pointer.to(pointer((Buffer) a));
      } else if (a instanceof Integer) {
        params[i] = Pointer.to(new int[] {(Integer) a});
      } else if (a instanceof Long) {
        params[i] = Pointer.to(new long[] {(Long) a});
      } else if (a instanceof Float) {
        params[i] = Pointer.to(new float[] {(Float) a});
      } else {
        throw new IllegalArgumentException(kernel + ": unsupported argument " + i + " of " + a.getClass());
      }
    }
    cuLaunchKernel(f, gridX, gridY, 1, blockX, 1, 1, 0, null, Pointer.to(params), null);
  }

  /** The device's name as the driver reports it (e.g. {@code NVIDIA H100 80GB HBM3}). */
  String name() {
    return name;
  }

  /**
   * Copies {@code count} elements from {@code src} to {@code dst} on the device, ordered after the
   * launches before it: the copy bandwidth that gpu/gpu-check measures kernels against.
   */
  synchronized void copy(Buffer dst, Buffer src, long count) {
    src.require(dst.type, count, "copy source");
    dst.require(src.type, count, "copy destination");
    current();
    cuMemcpyDtoD(pointer(dst), pointer(src), count * src.type.bytes);
  }

  /** Waits for every launch (for timing). */
  synchronized void synchronize() {
    current();
    cuCtxSynchronize();
  }

  @Override
  public void close() {
    // Shared by the executor's tasks for the JVM's life: the primary context and module stay.
  }
}
