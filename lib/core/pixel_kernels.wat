;; WebAssembly SIMD kernels of the two fused sweeps of lib/core/pixel_stats.ts (rgbSweep, edgeSweep).
;; Hand-written text; `deno task wasm` assembles it with wabt into lib/core/pixel_kernels_wasm.ts
;; (tests/pixel_kernels_test.ts checks that the committed bytes equal a fresh build). The JS in
;; pixel_stats.ts lays out memory, fills the tables and reads the results; every integer sum here
;; is exact and every floating-point operation is the one the JS definitions do, in the same
;; order, so the results are identical to the JS sweeps (tests/pixel_stats_test.ts).
(module
  (memory (export "memory") 1)

  ;; Horizontal sum of an i32x4 as i64 (lanes signed).
  (func $hsum (param $v v128) (result i64)
    (i64.add
      (i64.add (i64.extend_i32_s (i32x4.extract_lane 0 (local.get $v)))
               (i64.extend_i32_s (i32x4.extract_lane 1 (local.get $v))))
      (i64.add (i64.extend_i32_s (i32x4.extract_lane 2 (local.get $v)))
               (i64.extend_i32_s (i32x4.extract_lane 3 (local.get $v))))))

;; rgb: one pass over n RGB pixels at $src (3n bytes, readable 8 bytes past the end).
  ;; Writes the OpenCV gray plane (n bytes at $gray) and eight i64 at $out: skin pixels, Σ(R−G),
  ;; Σ(R−G)², Σ(R+G−2B), Σ(R+G−2B)², Σ gray, pixels with gray ≤ $dark, pixels with gray ≥ $bright.
  ;; Skin: (R − Y − ryLo) unsigned ≤ rySpan and (B − Y − byLo) unsigned ≤ bySpan with
  ;; Y = (4899 R + 9617 G + 1868 B + 8192) >> 14 (see pixel_stats.ts, diffRange).
  (func (export "rgb")
    (param $src i32) (param $n i32) (param $gray i32) (param $out i32)
    (param $ryLo i32) (param $rySpan i32) (param $byLo i32) (param $bySpan i32)
    (param $dark i32) (param $bright i32)
    (local $i i32) (local $end i32) (local $chunkEnd i32) (local $p i32)
    (local $v0 v128) (local $v1 v128) (local $rg8 v128) (local $b8 v128)
    (local $r v128) (local $g v128) (local $b v128) (local $a v128) (local $c v128)
    (local $rgLo v128) (local $rgHi v128) (local $b1Lo v128) (local $b1Hi v128)
    (local $y16 v128) (local $g16 v128) (local $gsLo v128) (local $gsHi v128)
    (local $accA v128) (local $accA2 v128) (local $accC v128) (local $accC2 v128) (local $accS v128)
    (local $accG v128) (local $accD v128) (local $accB v128) (local $darkV v128) (local $brightV v128)
    (local $skin i64) (local $sa i64) (local $sa2 i64) (local $sc i64) (local $sc2 i64)
    (local $sg i64) (local $nd i64) (local $nb i64)
    (local $ryLoV v128) (local $rySpanV v128) (local $byLoV v128) (local $bySpanV v128)
    (local $pr i32) (local $pg i32) (local $pb i32) (local $v i32) (local $l i32) (local $d i32)
    (local.set $darkV (i16x8.splat (local.get $dark)))
    (local.set $brightV (i16x8.splat (local.get $bright)))
    (local.set $ryLoV (i16x8.splat (local.get $ryLo)))
    (local.set $rySpanV (i16x8.splat (local.get $rySpan)))
    (local.set $byLoV (i16x8.splat (local.get $byLo)))
    (local.set $bySpanV (i16x8.splat (local.get $bySpan)))
    (local.set $end (i32.and (local.get $n) (i32.const -8)))
    (local.set $i (i32.const 0))
    ;; Chunks of ≤ 4096 pixels keep every lane accumulator far from overflow.
    (block $chunksDone
      (loop $chunks
        (br_if $chunksDone (i32.ge_u (local.get $i) (local.get $end)))
        (local.set $chunkEnd (i32.add (local.get $i) (i32.const 4096)))
        (if (i32.gt_u (local.get $chunkEnd) (local.get $end)) (then (local.set $chunkEnd (local.get $end))))
        (local.set $accA (v128.const i32x4 0 0 0 0))
        (local.set $accA2 (v128.const i32x4 0 0 0 0))
        (local.set $accC (v128.const i32x4 0 0 0 0))
        (local.set $accC2 (v128.const i32x4 0 0 0 0))
        (local.set $accS (v128.const i32x4 0 0 0 0))
        (local.set $accG (v128.const i32x4 0 0 0 0))
        (local.set $accD (v128.const i32x4 0 0 0 0))
        (local.set $accB (v128.const i32x4 0 0 0 0))
        (loop $px8
          (local.set $p (i32.add (local.get $src) (i32.mul (local.get $i) (i32.const 3))))
          ;; Pixels 0–3 in bytes 0–11 of $v0, pixels 4–7 in bytes 0–11 of $v1.
          (local.set $v0 (v128.load (local.get $p)))
          (local.set $v1 (v128.load offset=12 (local.get $p)))
          (local.set $rg8 (i8x16.shuffle 0 3 6 9 16 19 22 25 1 4 7 10 17 20 23 26
            (local.get $v0) (local.get $v1)))
          (local.set $b8 (i8x16.shuffle 2 5 8 11 18 21 24 27 2 5 8 11 18 21 24 27
            (local.get $v0) (local.get $v1)))
          (local.set $r (i16x8.extend_low_i8x16_u (local.get $rg8)))
          (local.set $g (i16x8.extend_high_i8x16_u (local.get $rg8)))
          (local.set $b (i16x8.extend_low_i8x16_u (local.get $b8)))
          ;; Colourfulness moments: a = R − G, c = R + G − 2B (i16), squares summed in pairs.
          (local.set $a (i16x8.sub (local.get $r) (local.get $g)))
          (local.set $c (i16x8.sub (i16x8.add (local.get $r) (local.get $g)) (i16x8.shl (local.get $b) (i32.const 1))))
          (local.set $accA (i32x4.add (local.get $accA) (i32x4.extadd_pairwise_i16x8_s (local.get $a))))
          (local.set $accA2 (i32x4.add (local.get $accA2) (i32x4.dot_i16x8_s (local.get $a) (local.get $a))))
          (local.set $accC (i32x4.add (local.get $accC) (i32x4.extadd_pairwise_i16x8_s (local.get $c))))
          (local.set $accC2 (i32x4.add (local.get $accC2) (i32x4.dot_i16x8_s (local.get $c) (local.get $c))))
          ;; (R, G) and (B, 1) pairs as i16 lanes, so one dot product gives a weighted sum per pixel.
          (local.set $rgLo (i8x16.swizzle (local.get $v0)
            (v128.const i8x16 0 128 1 128 3 128 4 128 6 128 7 128 9 128 10 128)))
          (local.set $rgHi (i8x16.swizzle (local.get $v1)
            (v128.const i8x16 0 128 1 128 3 128 4 128 6 128 7 128 9 128 10 128)))
          (local.set $b1Lo (v128.or (i8x16.swizzle (local.get $v0)
              (v128.const i8x16 2 128 128 128 5 128 128 128 8 128 128 128 11 128 128 128))
            (v128.const i16x8 0 1 0 1 0 1 0 1)))
          (local.set $b1Hi (v128.or (i8x16.swizzle (local.get $v1)
              (v128.const i8x16 2 128 128 128 5 128 128 128 8 128 128 128 11 128 128 128))
            (v128.const i16x8 0 1 0 1 0 1 0 1)))
          ;; Gray = (9798 R + 19235 G + 3735 B + 16384) >> 15.
          (local.set $gsLo (i32x4.add
            (i32x4.dot_i16x8_s (local.get $rgLo) (v128.const i16x8 9798 19235 9798 19235 9798 19235 9798 19235))
            (i32x4.dot_i16x8_s (local.get $b1Lo) (v128.const i16x8 3735 16384 3735 16384 3735 16384 3735 16384))))
          (local.set $gsHi (i32x4.add
            (i32x4.dot_i16x8_s (local.get $rgHi) (v128.const i16x8 9798 19235 9798 19235 9798 19235 9798 19235))
            (i32x4.dot_i16x8_s (local.get $b1Hi) (v128.const i16x8 3735 16384 3735 16384 3735 16384 3735 16384))))
          (local.set $g16 (i16x8.narrow_i32x4_u
            (i32x4.shr_u (local.get $gsLo) (i32.const 15)) (i32x4.shr_u (local.get $gsHi) (i32.const 15))))
          (i64.store (i32.add (local.get $gray) (local.get $i))
            (i64x2.extract_lane 0 (i8x16.narrow_i16x8_u (local.get $g16) (local.get $g16))))
          ;; Exposure: Σ gray and the dark and bright counts (a true lane is −1).
          (local.set $accG (i32x4.add (local.get $accG) (i32x4.dot_i16x8_s (local.get $g16) (v128.const i16x8 1 1 1 1 1 1 1 1))))
          (local.set $accD (i16x8.sub (local.get $accD) (i16x8.le_u (local.get $g16) (local.get $darkV))))
          (local.set $accB (i16x8.sub (local.get $accB) (i16x8.ge_u (local.get $g16) (local.get $brightV))))
          ;; Skin luma Y = (4899 R + 9617 G + 1868 B + 8192) >> 14 = (gray's sum − G + B) >> 15, as
          ;; 2·(4899, 9617, 1868, 8192) = (9798, 19235 − 1, 3735 + 1, 16384).
          (local.set $a (i16x8.sub (local.get $b) (local.get $g)))
          (local.set $y16 (i16x8.narrow_i32x4_s
            (i32x4.shr_s (i32x4.add (local.get $gsLo) (i32x4.extend_low_i16x8_s (local.get $a))) (i32.const 15))
            (i32x4.shr_s (i32x4.add (local.get $gsHi) (i32x4.extend_high_i16x8_s (local.get $a))) (i32.const 15))))
          ;; accS counts skin pixels (a true lane is −1).
          (local.set $accS (i16x8.sub (local.get $accS) (v128.and
            (i16x8.le_u (i16x8.sub (i16x8.sub (local.get $r) (local.get $y16)) (local.get $ryLoV)) (local.get $rySpanV))
            (i16x8.le_u (i16x8.sub (i16x8.sub (local.get $b) (local.get $y16)) (local.get $byLoV)) (local.get $bySpanV)))))
          (local.set $i (i32.add (local.get $i) (i32.const 8)))
          (br_if $px8 (i32.lt_u (local.get $i) (local.get $chunkEnd))))
        (local.set $sa (i64.add (local.get $sa) (call $hsum (local.get $accA))))
        (local.set $sa2 (i64.add (local.get $sa2) (call $hsum (local.get $accA2))))
        (local.set $sc (i64.add (local.get $sc) (call $hsum (local.get $accC))))
        (local.set $sc2 (i64.add (local.get $sc2) (call $hsum (local.get $accC2))))
        (local.set $skin (i64.add (local.get $skin) (call $hsum (i32x4.extadd_pairwise_i16x8_s (local.get $accS)))))
        (local.set $sg (i64.add (local.get $sg) (call $hsum (local.get $accG))))
        (local.set $nd (i64.add (local.get $nd) (call $hsum (i32x4.extadd_pairwise_i16x8_s (local.get $accD)))))
        (local.set $nb (i64.add (local.get $nb) (call $hsum (i32x4.extadd_pairwise_i16x8_s (local.get $accB)))))
        (br $chunks)))
    ;; The last n mod 8 pixels, one at a time, as the JS sweep does them.
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $p (i32.add (local.get $src) (i32.mul (local.get $i) (i32.const 3))))
        (local.set $pr (i32.load8_u (local.get $p)))
        (local.set $pg (i32.load8_u offset=1 (local.get $p)))
        (local.set $pb (i32.load8_u offset=2 (local.get $p)))
        (local.set $v (i32.shr_u (i32.add (i32.add (i32.mul (local.get $pr) (i32.const 9798))
          (i32.mul (local.get $pg) (i32.const 19235))) (i32.add (i32.mul (local.get $pb) (i32.const 3735)) (i32.const 16384)))
          (i32.const 15)))
        (i32.store8 (i32.add (local.get $gray) (local.get $i)) (local.get $v))
        (local.set $sg (i64.add (local.get $sg) (i64.extend_i32_u (local.get $v))))
        (if (i32.le_u (local.get $v) (local.get $dark)) (then (local.set $nd (i64.add (local.get $nd) (i64.const 1)))))
        (if (i32.ge_u (local.get $v) (local.get $bright)) (then (local.set $nb (i64.add (local.get $nb) (i64.const 1)))))
        (local.set $l (i32.shr_s (i32.add (i32.add (i32.mul (local.get $pr) (i32.const 4899))
          (i32.mul (local.get $pg) (i32.const 9617))) (i32.add (i32.mul (local.get $pb) (i32.const 1868)) (i32.const 8192)))
          (i32.const 14)))
        (if (i32.and
              (i32.le_u (i32.sub (i32.sub (local.get $pr) (local.get $l)) (local.get $ryLo)) (local.get $rySpan))
              (i32.le_u (i32.sub (i32.sub (local.get $pb) (local.get $l)) (local.get $byLo)) (local.get $bySpan)))
          (then (local.set $skin (i64.add (local.get $skin) (i64.const 1)))))
        (local.set $d (i32.sub (local.get $pr) (local.get $pg)))
        (local.set $sa (i64.add (local.get $sa) (i64.extend_i32_s (local.get $d))))
        (local.set $sa2 (i64.add (local.get $sa2) (i64.extend_i32_s (i32.mul (local.get $d) (local.get $d)))))
        (local.set $d (i32.sub (i32.add (local.get $pr) (local.get $pg)) (i32.shl (local.get $pb) (i32.const 1))))
        (local.set $sc (i64.add (local.get $sc) (i64.extend_i32_s (local.get $d))))
        (local.set $sc2 (i64.add (local.get $sc2) (i64.extend_i32_s (i32.mul (local.get $d) (local.get $d)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $tail)))
    (i64.store (local.get $out) (local.get $skin))
    (i64.store offset=8 (local.get $out) (local.get $sa))
    (i64.store offset=16 (local.get $out) (local.get $sa2))
    (i64.store offset=24 (local.get $out) (local.get $sc))
    (i64.store offset=32 (local.get $out) (local.get $sc2))
    (i64.store offset=40 (local.get $out) (local.get $sg))
    (i64.store offset=48 (local.get $out) (local.get $nd))
    (i64.store offset=56 (local.get $out) (local.get $nb)))

;; blocks: sums of sx × sy blocks of a w × h byte plane at $src (sx a multiple of 16, w = dw·sx,
  ;; h = dh·sy), as i32 at $dst (dw × dh, row-major).
  (func (export "blocks")
    (param $src i32) (param $w i32) (param $sx i32) (param $sy i32) (param $dw i32) (param $dh i32) (param $dst i32)
    (local $by i32) (local $bx i32) (local $j i32) (local $p i32) (local $q i32) (local $acc v128) (local $d i32)
    (local.set $by (i32.const 0))
    (loop $rows
      (local.set $bx (i32.const 0))
      (loop $cols
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (loop $lines
          (local.set $p (i32.add (local.get $src) (i32.add
            (i32.mul (i32.add (i32.mul (local.get $by) (local.get $sy)) (local.get $j)) (local.get $w))
            (i32.mul (local.get $bx) (local.get $sx)))))
          (local.set $q (i32.add (local.get $p) (local.get $sx)))
          (loop $vecs
            (local.set $acc (i32x4.add (local.get $acc)
              (i32x4.extadd_pairwise_i16x8_u (i16x8.extadd_pairwise_i8x16_u (v128.load (local.get $p))))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br_if $vecs (i32.lt_u (local.get $p) (local.get $q))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $lines (i32.lt_u (local.get $j) (local.get $sy))))
        (local.set $d (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $by) (local.get $dw)) (local.get $bx)) (i32.const 2))))
        (i32.store (local.get $d) (i32.wrap_i64 (call $hsum (local.get $acc))))
        (local.set $bx (i32.add (local.get $bx) (i32.const 1)))
        (br_if $cols (i32.lt_u (local.get $bx) (local.get $dw))))
      (local.set $by (i32.add (local.get $by) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $by) (local.get $dh)))))

  ;; One pixel of the 3×3 stencils, x with its reflected neighbours xl and xr, on rows up/mid/dn:
  ;; stores the Laplacian at $lrow[x] (i16) and returns Gx² + Gy².
  (func $pix (param $up i32) (param $mid i32) (param $dn i32) (param $lrow i32)
    (param $x i32) (param $xl i32) (param $xr i32) (result i32)
    (local $n i32) (local $s i32) (local $w i32) (local $e i32)
    (local $nw i32) (local $ne i32) (local $sw i32) (local $se i32) (local $gx i32) (local $gy i32)
    (local.set $n (i32.load8_u (i32.add (local.get $up) (local.get $x))))
    (local.set $s (i32.load8_u (i32.add (local.get $dn) (local.get $x))))
    (local.set $w (i32.load8_u (i32.add (local.get $mid) (local.get $xl))))
    (local.set $e (i32.load8_u (i32.add (local.get $mid) (local.get $xr))))
    (local.set $nw (i32.load8_u (i32.add (local.get $up) (local.get $xl))))
    (local.set $ne (i32.load8_u (i32.add (local.get $up) (local.get $xr))))
    (local.set $sw (i32.load8_u (i32.add (local.get $dn) (local.get $xl))))
    (local.set $se (i32.load8_u (i32.add (local.get $dn) (local.get $xr))))
    (i32.store16 (i32.add (local.get $lrow) (i32.shl (local.get $x) (i32.const 1)))
      (i32.sub (i32.add (i32.add (local.get $n) (local.get $s)) (i32.add (local.get $w) (local.get $e)))
        (i32.shl (i32.load8_u (i32.add (local.get $mid) (local.get $x))) (i32.const 2))))
    (local.set $gx (i32.sub (i32.add (i32.add (local.get $ne) (local.get $se)) (i32.shl (local.get $e) (i32.const 1)))
      (i32.add (i32.add (local.get $nw) (local.get $sw)) (i32.shl (local.get $w) (i32.const 1)))))
    (local.set $gy (i32.sub (i32.add (i32.add (local.get $sw) (local.get $se)) (i32.shl (local.get $s) (i32.const 1)))
      (i32.add (i32.add (local.get $nw) (local.get $ne)) (i32.shl (local.get $n) (i32.const 1)))))
    (i32.add (i32.mul (local.get $gx) (local.get $gx)) (i32.mul (local.get $gy) (local.get $gy))))

  ;; edge: one pass over a w × h gray plane at $gray (reflect-101 borders): Laplacian and Sobel
  ;; sums, and the integer moments of the Laplacian over the blocks that the map grid's bilinear
  ;; weights are linear on (see edgeSweep in pixel_stats.ts). Horizontal pieces (np of them) start at
  ;; $pstart i32[np + 1], vertical ones (nv) at $vstart i32[nv + 1] (each at most 2000 long).
  ;; Scratch: $lrow i16[wp] (wp = w rounded up to 8, + 8), $cols four i32[wp] (per column over the
  ;; rows since the last flush: A = ΣL, T = Σ A after each row, the same for L²), $acc i64[8·np].
  ;; Writes f64[8] per block (vertical piece j, horizontal piece k) at $mom + 64·(j·np + k): ΣL,
  ;; Σdx·L, Σdy·L, Σdx·dy·L and the same for L² (dx = x − x0, dy = y − y0 from the block's corner;
  ;; exact integers, rounded to f64 only past 2^53); and three i64 at $out: ΣL, ΣL², Σ(Gx² + Gy²).
  (func (export "edge")
    (param $gray i32) (param $w i32) (param $h i32) (param $lrow i32) (param $cols i32)
    (param $pstart i32) (param $np i32) (param $vstart i32) (param $nv i32)
    (param $acc i32) (param $mom i32) (param $out i32)
    (local $y i32) (local $x i32) (local $up i32) (local $mid i32) (local $dn i32)
    (local $k i32) (local $x0 i32) (local $x1 i32) (local $iters i32) (local $p i32) (local $q i32)
    (local $lapSum i64) (local $lapSq i64) (local $sobel i64) (local $acc4 v128)
    (local $nw v128) (local $n v128) (local $ne v128) (local $we v128) (local $c v128) (local $e v128)
    (local $sw v128) (local $s v128) (local $se v128) (local $gx v128) (local $gy v128)
    (local $wp i32) (local $cA1 i32) (local $cT1 i32) (local $cA2 i32) (local $cT2 i32)
    (local $j i32) (local $y0 i32) (local $y1 i32) (local $rows i32)
    (local $lv v128) (local $v v128) (local $a v128) (local $wv v128) (local $mask v128)
    (local $sA1 v128) (local $tA1 v128) (local $sT1 v128) (local $tT1 v128)
    (local $sA2 v128) (local $tA2 v128) (local $sT2 v128) (local $tT2 v128)
    (local $off i64) (local $len i64) (local $nr i64) (local $m i32)
    (local $S i64) (local $SX i64) (local $SY i64) (local $SXY i64) (local $u i64)
    (local.set $wp (i32.add (i32.and (i32.add (local.get $w) (i32.const 7)) (i32.const -8)) (i32.const 8)))
    (local.set $cA1 (local.get $cols))
    (local.set $cT1 (i32.add (local.get $cA1) (i32.shl (local.get $wp) (i32.const 2))))
    (local.set $cA2 (i32.add (local.get $cT1) (i32.shl (local.get $wp) (i32.const 2))))
    (local.set $cT2 (i32.add (local.get $cA2) (i32.shl (local.get $wp) (i32.const 2))))
    (memory.fill (local.get $lrow) (i32.const 0) (i32.shl (local.get $wp) (i32.const 1)))
    (memory.fill (local.get $cols) (i32.const 0) (i32.shl (local.get $wp) (i32.const 4)))
    (memory.fill (local.get $acc) (i32.const 0) (i32.shl (local.get $np) (i32.const 6)))
    (local.set $j (i32.const 0))
    (local.set $y0 (i32.const 0))
    (local.set $y1 (i32.load offset=4 (local.get $vstart)))
    (local.set $rows (i32.const 0))
    (local.set $y (i32.const 0))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_u (local.get $y) (local.get $h)))
        (local.set $mid (i32.add (local.get $gray) (i32.mul (local.get $y) (local.get $w))))
        (if (i32.eq (local.get $h) (i32.const 1))
          (then (local.set $up (local.get $mid)) (local.set $dn (local.get $mid)))
          (else
            (local.set $up (i32.add (local.get $gray) (i32.mul (local.get $w)
              (select (i32.const 1) (i32.sub (local.get $y) (i32.const 1)) (i32.eqz (local.get $y))))))
            (local.set $dn (i32.add (local.get $gray) (i32.mul (local.get $w)
              (select (i32.sub (local.get $h) (i32.const 2)) (i32.add (local.get $y) (i32.const 1))
                (i32.eq (local.get $y) (i32.sub (local.get $h) (i32.const 1)))))))))
        ;; Column 0 (and w − 1 below) with reflected neighbours; a 1-wide row reflects onto itself.
        (if (i32.eq (local.get $w) (i32.const 1))
          (then (local.set $sobel (i64.add (local.get $sobel) (i64.extend_i32_u
            (call $pix (local.get $up) (local.get $mid) (local.get $dn) (local.get $lrow)
              (i32.const 0) (i32.const 0) (i32.const 0))))))
          (else (local.set $sobel (i64.add (local.get $sobel) (i64.extend_i32_u
            (call $pix (local.get $up) (local.get $mid) (local.get $dn) (local.get $lrow)
              (i32.const 0) (i32.const 1) (i32.const 1)))))))
        ;; Interior columns, 8 at a time; the Sobel accumulator is flushed every 256 vectors.
        (local.set $x (i32.const 1))
        (local.set $acc4 (v128.const i32x4 0 0 0 0))
        (local.set $iters (i32.const 0))
        (block $simdDone
          (loop $simd
            (br_if $simdDone (i32.gt_s (i32.add (local.get $x) (i32.const 8)) (i32.sub (local.get $w) (i32.const 1))))
            (local.set $p (i32.add (local.get $up) (local.get $x)))
            (local.set $nw (v128.load8x8_u offset=0 (i32.sub (local.get $p) (i32.const 1))))
            (local.set $n (v128.load8x8_u (local.get $p)))
            (local.set $ne (v128.load8x8_u offset=1 (local.get $p)))
            (local.set $p (i32.add (local.get $mid) (local.get $x)))
            (local.set $we (v128.load8x8_u (i32.sub (local.get $p) (i32.const 1))))
            (local.set $c (v128.load8x8_u (local.get $p)))
            (local.set $e (v128.load8x8_u offset=1 (local.get $p)))
            (local.set $p (i32.add (local.get $dn) (local.get $x)))
            (local.set $sw (v128.load8x8_u (i32.sub (local.get $p) (i32.const 1))))
            (local.set $s (v128.load8x8_u (local.get $p)))
            (local.set $se (v128.load8x8_u offset=1 (local.get $p)))
            (v128.store (i32.add (local.get $lrow) (i32.shl (local.get $x) (i32.const 1)))
              (i16x8.sub (i16x8.add (i16x8.add (local.get $n) (local.get $s)) (i16x8.add (local.get $we) (local.get $e)))
                (i16x8.shl (local.get $c) (i32.const 2))))
            (local.set $gx (i16x8.sub (i16x8.add (i16x8.add (local.get $ne) (local.get $se)) (i16x8.shl (local.get $e) (i32.const 1)))
              (i16x8.add (i16x8.add (local.get $nw) (local.get $sw)) (i16x8.shl (local.get $we) (i32.const 1)))))
            (local.set $gy (i16x8.sub (i16x8.add (i16x8.add (local.get $sw) (local.get $se)) (i16x8.shl (local.get $s) (i32.const 1)))
              (i16x8.add (i16x8.add (local.get $nw) (local.get $ne)) (i16x8.shl (local.get $n) (i32.const 1)))))
            (local.set $acc4 (i32x4.add (local.get $acc4)
              (i32x4.add (i32x4.dot_i16x8_s (local.get $gx) (local.get $gx)) (i32x4.dot_i16x8_s (local.get $gy) (local.get $gy)))))
            (local.set $iters (i32.add (local.get $iters) (i32.const 1)))
            (if (i32.eq (local.get $iters) (i32.const 256))
              (then
                (local.set $sobel (i64.add (local.get $sobel) (call $hsum (local.get $acc4))))
                (local.set $acc4 (v128.const i32x4 0 0 0 0))
                (local.set $iters (i32.const 0))))
            (local.set $x (i32.add (local.get $x) (i32.const 8)))
            (br $simd)))
        (local.set $sobel (i64.add (local.get $sobel) (call $hsum (local.get $acc4))))
        (block $restDone
          (loop $rest
            (br_if $restDone (i32.ge_s (local.get $x) (i32.sub (local.get $w) (i32.const 1))))
            (local.set $sobel (i64.add (local.get $sobel) (i64.extend_i32_u
              (call $pix (local.get $up) (local.get $mid) (local.get $dn) (local.get $lrow)
                (local.get $x) (i32.sub (local.get $x) (i32.const 1)) (i32.add (local.get $x) (i32.const 1))))))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $rest)))
        (if (i32.gt_u (local.get $w) (i32.const 1))
          (then (local.set $sobel (i64.add (local.get $sobel) (i64.extend_i32_u
            (call $pix (local.get $up) (local.get $mid) (local.get $dn) (local.get $lrow)
              (local.tee $x (i32.sub (local.get $w) (i32.const 1)))
              (i32.sub (local.get $x) (i32.const 1)) (i32.sub (local.get $x) (i32.const 1))))))))
        ;; Column moments of this row: A += L, T += A (so T = Σ (ye − y)·L over the rows y < ye since
        ;; the last flush), the same for L²; eight columns a step (lanes past w hold L = 0).
        (local.set $q (i32.const 0))
        (local.set $p (i32.shl (local.get $wp) (i32.const 2)))
        (loop $colsLoop
          (local.set $lv (v128.load (i32.add (local.get $lrow) (i32.shr_u (local.get $q) (i32.const 1)))))
          (local.set $x (i32.add (local.get $cA1) (local.get $q)))
          (local.set $a (i32x4.add (v128.load (local.get $x)) (i32x4.extend_low_i16x8_s (local.get $lv))))
          (v128.store (local.get $x) (local.get $a))
          (local.set $x (i32.add (local.get $cT1) (local.get $q)))
          (v128.store (local.get $x) (i32x4.add (v128.load (local.get $x)) (local.get $a)))
          (local.set $x (i32.add (local.get $cA1) (local.get $q)))
          (local.set $a (i32x4.add (v128.load offset=16 (local.get $x)) (i32x4.extend_high_i16x8_s (local.get $lv))))
          (v128.store offset=16 (local.get $x) (local.get $a))
          (local.set $x (i32.add (local.get $cT1) (local.get $q)))
          (v128.store offset=16 (local.get $x) (i32x4.add (v128.load offset=16 (local.get $x)) (local.get $a)))
          (local.set $x (i32.add (local.get $cA2) (local.get $q)))
          (local.set $a (i32x4.add (v128.load (local.get $x)) (i32x4.extmul_low_i16x8_s (local.get $lv) (local.get $lv))))
          (v128.store (local.get $x) (local.get $a))
          (local.set $x (i32.add (local.get $cT2) (local.get $q)))
          (v128.store (local.get $x) (i32x4.add (v128.load (local.get $x)) (local.get $a)))
          (local.set $x (i32.add (local.get $cA2) (local.get $q)))
          (local.set $a (i32x4.add (v128.load offset=16 (local.get $x)) (i32x4.extmul_high_i16x8_s (local.get $lv) (local.get $lv))))
          (v128.store offset=16 (local.get $x) (local.get $a))
          (local.set $x (i32.add (local.get $cT2) (local.get $q)))
          (v128.store offset=16 (local.get $x) (i32x4.add (v128.load offset=16 (local.get $x)) (local.get $a)))
          (local.set $q (i32.add (local.get $q) (i32.const 32)))
          (br_if $colsLoop (i32.lt_u (local.get $q) (local.get $p))))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (local.set $rows (i32.add (local.get $rows) (i32.const 1)))
        ;; Flush at the end of a vertical piece, and every 45 rows (T of L² stays below 2^31):
        ;; per horizontal piece, s = Σ_x v and t = Σ_x (x1 − x)·v of each column moment v, added to
        ;; the block sums with dy measured from the piece's end: Σ (y1 − y)·L = T + (y1 − ye)·A.
        (if (i32.or (i32.eq (local.get $y) (local.get $y1)) (i32.eq (local.get $rows) (i32.const 45)))
          (then
            (local.set $off (i64.extend_i32_u (i32.sub (local.get $y1) (local.get $y))))
            (local.set $k (i32.const 0))
            (loop $flush
              (local.set $x0 (i32.load (i32.add (local.get $pstart) (i32.shl (local.get $k) (i32.const 2)))))
              (local.set $x1 (i32.load offset=4 (i32.add (local.get $pstart) (i32.shl (local.get $k) (i32.const 2)))))
              (local.set $sA1 (v128.const i64x2 0 0))
              (local.set $tA1 (v128.const i64x2 0 0))
              (local.set $sT1 (v128.const i64x2 0 0))
              (local.set $tT1 (v128.const i64x2 0 0))
              (local.set $sA2 (v128.const i64x2 0 0))
              (local.set $tA2 (v128.const i64x2 0 0))
              (local.set $sT2 (v128.const i64x2 0 0))
              (local.set $tT2 (v128.const i64x2 0 0))
              (local.set $x (local.get $x0))
              (loop $cols4
                ;; W = x1 − x per lane; lanes at or past x1 are masked to 0.
                (local.set $wv (i32x4.sub (i32x4.splat (i32.sub (local.get $x1) (local.get $x)))
                  (v128.const i32x4 0 1 2 3)))
                (local.set $mask (i32x4.gt_s (local.get $wv) (v128.const i32x4 0 0 0 0)))
                (local.set $q (i32.shl (local.get $x) (i32.const 2)))
                (local.set $v (v128.and (local.get $mask) (v128.load (i32.add (local.get $cA1) (local.get $q)))))
                (local.set $sA1 (i64x2.add (local.get $sA1) (i64x2.add (i64x2.extend_low_i32x4_s (local.get $v)) (i64x2.extend_high_i32x4_s (local.get $v)))))
                (local.set $tA1 (i64x2.add (local.get $tA1) (i64x2.add (i64x2.extmul_low_i32x4_s (local.get $wv) (local.get $v)) (i64x2.extmul_high_i32x4_s (local.get $wv) (local.get $v)))))
                (local.set $v (v128.and (local.get $mask) (v128.load (i32.add (local.get $cT1) (local.get $q)))))
                (local.set $sT1 (i64x2.add (local.get $sT1) (i64x2.add (i64x2.extend_low_i32x4_s (local.get $v)) (i64x2.extend_high_i32x4_s (local.get $v)))))
                (local.set $tT1 (i64x2.add (local.get $tT1) (i64x2.add (i64x2.extmul_low_i32x4_s (local.get $wv) (local.get $v)) (i64x2.extmul_high_i32x4_s (local.get $wv) (local.get $v)))))
                (local.set $v (v128.and (local.get $mask) (v128.load (i32.add (local.get $cA2) (local.get $q)))))
                (local.set $sA2 (i64x2.add (local.get $sA2) (i64x2.add (i64x2.extend_low_i32x4_s (local.get $v)) (i64x2.extend_high_i32x4_s (local.get $v)))))
                (local.set $tA2 (i64x2.add (local.get $tA2) (i64x2.add (i64x2.extmul_low_i32x4_s (local.get $wv) (local.get $v)) (i64x2.extmul_high_i32x4_s (local.get $wv) (local.get $v)))))
                (local.set $v (v128.and (local.get $mask) (v128.load (i32.add (local.get $cT2) (local.get $q)))))
                (local.set $sT2 (i64x2.add (local.get $sT2) (i64x2.add (i64x2.extend_low_i32x4_s (local.get $v)) (i64x2.extend_high_i32x4_s (local.get $v)))))
                (local.set $tT2 (i64x2.add (local.get $tT2) (i64x2.add (i64x2.extmul_low_i32x4_s (local.get $wv) (local.get $v)) (i64x2.extmul_high_i32x4_s (local.get $wv) (local.get $v)))))
                (local.set $x (i32.add (local.get $x) (i32.const 4)))
                (br_if $cols4 (i32.lt_s (local.get $x) (local.get $x1))))
              ;; Block sums of piece k: ΣL, Σ(x1 − x)L, Σ(y1 − y)L, Σ(x1 − x)(y1 − y)L; then for L².
              (local.set $p (i32.add (local.get $acc) (i32.shl (local.get $k) (i32.const 6))))
              (local.set $S (i64.add (i64x2.extract_lane 0 (local.get $sA1)) (i64x2.extract_lane 1 (local.get $sA1))))
              (local.set $SX (i64.add (i64x2.extract_lane 0 (local.get $tA1)) (i64x2.extract_lane 1 (local.get $tA1))))
              (i64.store (local.get $p) (i64.add (i64.load (local.get $p)) (local.get $S)))
              (i64.store offset=8 (local.get $p) (i64.add (i64.load offset=8 (local.get $p)) (local.get $SX)))
              (i64.store offset=16 (local.get $p) (i64.add (i64.load offset=16 (local.get $p)) (i64.add
                (i64.add (i64x2.extract_lane 0 (local.get $sT1)) (i64x2.extract_lane 1 (local.get $sT1)))
                (i64.mul (local.get $off) (local.get $S)))))
              (i64.store offset=24 (local.get $p) (i64.add (i64.load offset=24 (local.get $p)) (i64.add
                (i64.add (i64x2.extract_lane 0 (local.get $tT1)) (i64x2.extract_lane 1 (local.get $tT1)))
                (i64.mul (local.get $off) (local.get $SX)))))
              (local.set $S (i64.add (i64x2.extract_lane 0 (local.get $sA2)) (i64x2.extract_lane 1 (local.get $sA2))))
              (local.set $SX (i64.add (i64x2.extract_lane 0 (local.get $tA2)) (i64x2.extract_lane 1 (local.get $tA2))))
              (i64.store offset=32 (local.get $p) (i64.add (i64.load offset=32 (local.get $p)) (local.get $S)))
              (i64.store offset=40 (local.get $p) (i64.add (i64.load offset=40 (local.get $p)) (local.get $SX)))
              (i64.store offset=48 (local.get $p) (i64.add (i64.load offset=48 (local.get $p)) (i64.add
                (i64.add (i64x2.extract_lane 0 (local.get $sT2)) (i64x2.extract_lane 1 (local.get $sT2)))
                (i64.mul (local.get $off) (local.get $S)))))
              (i64.store offset=56 (local.get $p) (i64.add (i64.load offset=56 (local.get $p)) (i64.add
                (i64.add (i64x2.extract_lane 0 (local.get $tT2)) (i64x2.extract_lane 1 (local.get $tT2)))
                (i64.mul (local.get $off) (local.get $SX)))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br_if $flush (i32.lt_u (local.get $k) (local.get $np))))
            (memory.fill (local.get $cols) (i32.const 0) (i32.shl (local.get $wp) (i32.const 4)))
            (local.set $rows (i32.const 0))))
        ;; End of vertical piece j: each block's sums, measured from its far corner (x1, y1), become
        ;; moments from its near corner (x0, y0): dx = len − (x1 − x), dy = nr − (y1 − y) (i64
        ;; arithmetic wraps, exact whenever the result fits).
        (if (i32.eq (local.get $y) (local.get $y1))
          (then
            (local.set $nr (i64.extend_i32_u (i32.sub (local.get $y1) (local.get $y0))))
            (local.set $k (i32.const 0))
            (loop $blocks
              (local.set $len (i64.extend_i32_u (i32.sub
                (i32.load offset=4 (i32.add (local.get $pstart) (i32.shl (local.get $k) (i32.const 2))))
                (i32.load (i32.add (local.get $pstart) (i32.shl (local.get $k) (i32.const 2)))))))
              (local.set $p (i32.add (local.get $acc) (i32.shl (local.get $k) (i32.const 6))))
              (local.set $q (i32.add (local.get $mom) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $np)) (local.get $k)) (i32.const 6))))
              (local.set $m (i32.const 0))
              (loop $moments
                (local.set $S (i64.load (i32.add (local.get $p) (local.get $m))))
                (local.set $SX (i64.load offset=8 (i32.add (local.get $p) (local.get $m))))
                (local.set $SY (i64.load offset=16 (i32.add (local.get $p) (local.get $m))))
                (local.set $SXY (i64.load offset=24 (i32.add (local.get $p) (local.get $m))))
                (if (i32.eqz (local.get $m))
                  (then (local.set $lapSum (i64.add (local.get $lapSum) (local.get $S))))
                  (else (local.set $lapSq (i64.add (local.get $lapSq) (local.get $S)))))
                (f64.store (i32.add (local.get $q) (local.get $m)) (f64.convert_i64_s (local.get $S)))
                (f64.store offset=8 (i32.add (local.get $q) (local.get $m))
                  (f64.convert_i64_s (i64.sub (i64.mul (local.get $len) (local.get $S)) (local.get $SX))))
                (f64.store offset=16 (i32.add (local.get $q) (local.get $m))
                  (f64.convert_i64_s (i64.sub (i64.mul (local.get $nr) (local.get $S)) (local.get $SY))))
                (local.set $u (i64.sub (i64.mul (local.get $len) (i64.mul (local.get $nr) (local.get $S)))
                  (i64.add (i64.mul (local.get $len) (local.get $SY)) (i64.mul (local.get $nr) (local.get $SX)))))
                (f64.store offset=24 (i32.add (local.get $q) (local.get $m))
                  (f64.convert_i64_s (i64.add (local.get $u) (local.get $SXY))))
                (local.set $m (i32.add (local.get $m) (i32.const 32)))
                (br_if $moments (i32.lt_u (local.get $m) (i32.const 64))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br_if $blocks (i32.lt_u (local.get $k) (local.get $np))))
            (memory.fill (local.get $acc) (i32.const 0) (i32.shl (local.get $np) (i32.const 6)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (local.set $y0 (local.get $y1))
            (if (i32.lt_u (local.get $j) (local.get $nv))
              (then (local.set $y1 (i32.load (i32.add (local.get $vstart) (i32.shl (i32.add (local.get $j) (i32.const 1)) (i32.const 2)))))))))
        (br $rows)))
    (i64.store (local.get $out) (local.get $lapSum))
    (i64.store offset=8 (local.get $out) (local.get $lapSq))
    (i64.store offset=16 (local.get $out) (local.get $sobel)))
)
