/**
 * Structured initializations: HiPPO continuous systems (LegT, LegS, FouT), S4D diagonal
 * initializations (Lin, Inv, LegS) and the LRU ring initialization.
 */
package org.sparkssm.init;
