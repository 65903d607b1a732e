#version 450
#define GLU_NORM 1
#include "common.glsl"
#include "glu_main.glsl"
