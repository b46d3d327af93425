/**
 * Continuous-to-discrete conversion of state-space systems: ZOH, bilinear and Mamba rules for
 * diagonal (element-wise, including per-step Δ for scan loops) and dense systems.
 */
package org.sparkssm.discretize;
