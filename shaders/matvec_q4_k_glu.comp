#version 450
#include "common.glsl"
#include "glu_main.glsl"
