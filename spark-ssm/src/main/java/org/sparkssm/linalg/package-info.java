/**
 * Minimal dense float64 linear algebra for initializations and discretization (not for hot scan
 * loops): {@link org.sparkssm.linalg.Expm} (matrix exponential), {@link org.sparkssm.linalg.Lu}
 * (pivoted LU solve) and {@link org.sparkssm.linalg.SymmetricEigen} (Jacobi eigen-decomposition).
 * Matrices are row-major {@code A[i * n + j]}.
 */
package org.sparkssm.linalg;
