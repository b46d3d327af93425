/**
 * spark-ssm: the state-space sequence model engine (pure Java, no Spark, Scala or Arrow).
 *
 * <h2>Glossary</h2>
 * Symbols follow the papers; every kernel's Javadoc uses these names.
 * <table>
 *   <caption>Symbols</caption>
 *   <tr><th>symbol</th><th>meaning</th><th>paper</th></tr>
 *   <tr><td>L</td><td>sequence length (time steps in a call or chunk)</td><td>all</td></tr>
 *   <tr><td>D</td><td>channels: independent input signals ({@code d_inner} in Mamba)</td><td>S4D, Mamba</td></tr>
 *   <tr><td>N</td><td>state size per channel ({@code d_state})</td><td>S4, S4D, Mamba</td></tr>
 *   <tr><td>H</td><td>input/output features of a MIMO layer (S5); heads in Mamba-2 SSD</td><td>S5, Mamba-2</td></tr>
 *   <tr><td>P</td><td>latent state size of S5; head dimension in SSD</td><td>S5, Mamba-2</td></tr>
 *   <tr><td>G</td><td>groups sharing one B and C (Mamba {@code ngroups})</td><td>Mamba-2</td></tr>
 *   <tr><td>Δ (dt)</td><td>step size; per step when timestamps are irregular or input-dependent</td><td>S4, Mamba</td></tr>
 *   <tr><td>A, B, C</td><td>continuous-time system {@code x' = A x + B u}, {@code y = C x}</td><td>HiPPO, S4</td></tr>
 *   <tr><td>Ā, B̄ (Abar, Bbar)</td><td>discretized system {@code h_t = Ā h_{t-1} + B̄ u_t}</td><td>S4</td></tr>
 *   <tr><td>D-skip ({@code Dskip})</td><td>feed-through {@code y_t += D ⊙ u_t}</td><td>S4, Mamba</td></tr>
 *   <tr><td>K</td><td>convolution kernel {@code K_k = C Ā^k B̄} of an LTI system</td><td>S4</td></tr>
 *   <tr><td>h</td><td>hidden state; {@code h_0} is the caller's initial state</td><td>all</td></tr>
 * </table>
 *
 * <h2>Memory layout (fixed once, used everywhere)</h2>
 * <ul>
 *   <li>Sequences are time-major: input {@code u[t * D + d]}, output {@code y[t * D + d]}, each
 *       addressed from a caller-given offset, so a chunk of a larger buffer is scanned in place.</li>
 *   <li>Diagonal state and per-state parameters are channel-major: {@code h[d * N + n]},
 *       {@code Abar[d * N + n]}. Complex parameters are split into two arrays of the same layout
 *       ({@code re}, {@code im}), never interleaved. A complex state is one array of twice the
 *       size, real parts first: {@code h[d * N + n]} and {@code h[D * N + d * N + n]}, so every
 *       state, real or complex, travels as one {@code double[]} (and one
 *       {@link org.sparkssm.state.ScanState}).</li>
 *   <li>S5: input/output {@code u[t * H + j]}, B̄ (P, H) as {@code [p * H + j]}, C̃ (H, P),
 *       state of P complex modes (2P doubles). SSD (Mamba-2): {@code x[(t * H + h) * P + p]},
 *       {@code dt[t * H + h]}, state {@code S[(h * P + p) * N + n]}.</li>
 *   <li>Dense matrices are row-major: {@code A[i * N + j]} is row i, column j.</li>
 *   <li>Input-dependent B and C of a selective scan: {@code B[(t * G + g) * N + n]}.</li>
 * </ul>
 *
 * <h2>Carried state</h2>
 * Every scan takes the initial state in its {@code h} array and leaves the final state there, so a
 * sequence scanned chunk by chunk with the same {@code h} equals the one-shot scan. A
 * {@link org.sparkssm.state.ChunkSummary} (decay product, end state from zero) combines
 * associatively, which is what lets Spark scan one series across partitions in two passes.
 *
 * <h2>Validation</h2>
 * Public entry points validate shapes, finiteness and stability once, through
 * {@link org.sparkssm.Checks}, with messages of the form "expected X, got Y" naming the argument.
 * Hot loops only {@code assert}.
 */
package org.sparkssm;
