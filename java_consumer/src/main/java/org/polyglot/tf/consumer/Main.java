package org.polyglot.tf.consumer;
public class Main { public static void main(String[] a) { System.out.println(org.tensorflow.internal.c_api.global.tensorflow.TF_Version().getString()); } }
