/** Reading weights trained elsewhere: the safetensors format ({@link org.sparkssm.weights.Safetensors}). */
package org.sparkssm.weights;
