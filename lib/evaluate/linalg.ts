/**
 * The little dense linear algebra the distribution metrics need, in float64: means and
 * covariances of feature sets, a positive-semidefinite Cholesky factor, products, and the
 * eigenvalues of a symmetric matrix (Householder tridiagonalisation + implicit QL).
 *
 * Matrices are row-major `Float64Array`s with their sizes passed beside them.
 *
 * @module
 */

/** A feature set: `n` rows of `d` numbers, row-major. */
export interface FeatureMatrix {
  n: number;
  d: number;
  data: Float64Array;
}

/**
 * Packs `rows` (arrays or typed arrays of one length) into a {@link FeatureMatrix}; `what` names
 * the set in errors (empty set, ragged rows, non-finite values).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { toMatrix } from "./linalg.ts";
 * const m = toMatrix([[1, 2], [3, 4]], "real");
 * assert.deepEqual([m.n, m.d, [...m.data]], [2, 2, [1, 2, 3, 4]]);
 * assert.throws(() => toMatrix([[1, 2], [3]], "fake"), /fake: row 1 has 1 values, row 0 has 2/);
 * ```
 */
export function toMatrix(rows: readonly ArrayLike<number>[] | FeatureMatrix, what: string): FeatureMatrix {
  if (!Array.isArray(rows)) return rows as FeatureMatrix;
  const list = rows as readonly ArrayLike<number>[];
  if (!list.length) throw new RangeError(`${what}: the feature set is empty`);
  const d = list[0].length;
  if (!d) throw new RangeError(`${what}: features have no dimensions`);
  const data = new Float64Array(list.length * d);
  list.forEach((r, i) => {
    if (r.length !== d) throw new RangeError(`${what}: row ${i} has ${r.length} values, row 0 has ${d}`);
    for (let j = 0; j < d; j++) {
      const v = r[j];
      if (!Number.isFinite(v)) throw new RangeError(`${what}: row ${i}, value ${j} is ${v}`);
      data[i * d + j] = v;
    }
  });
  return { n: list.length, d, data };
}

/** Column means of `m`. */
export function columnMeans(m: FeatureMatrix): Float64Array {
  const mu = new Float64Array(m.d);
  for (let i = 0; i < m.n; i++) for (let j = 0; j < m.d; j++) mu[j] += m.data[i * m.d + j];
  for (let j = 0; j < m.d; j++) mu[j] /= m.n;
  return mu;
}

/** `m` with its column means subtracted. */
export function centered(m: FeatureMatrix, mu: Float64Array): Float64Array {
  const out = new Float64Array(m.data.length);
  for (let i = 0; i < m.n; i++) for (let j = 0; j < m.d; j++) out[i * m.d + j] = m.data[i * m.d + j] - mu[j];
  return out;
}

/** Dot product of `len` values of `a` from `ia` and `b` from `ib` (4-way unrolled). */
export function dot(a: Float64Array, ia: number, b: Float64Array, ib: number, len: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t = 0;
  for (; t + 3 < len; t += 4) {
    s0 += a[ia + t] * b[ib + t];
    s1 += a[ia + t + 1] * b[ib + t + 1];
    s2 += a[ia + t + 2] * b[ib + t + 2];
    s3 += a[ia + t + 3] * b[ib + t + 3];
  }
  for (; t < len; t++) s0 += a[ia + t] * b[ib + t];
  return (s0 + s1) + (s2 + s3);
}

/** The transpose of an `r × c` matrix. */
export function transpose(m: Float64Array, r: number, c: number): Float64Array {
  const t = new Float64Array(m.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = m[i * c + j];
  return t;
}

/** `AᵀA · scale` of an `n × d` matrix: a symmetric `d × d` matrix (e.g. a covariance). */
export function gramColumns(a: Float64Array, n: number, d: number, scale: number): Float64Array {
  const at = transpose(a, n, d);
  const g = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    for (let k = j; k < d; k++) {
      const v = dot(at, j * n, at, k * n, n) * scale;
      g[j * d + k] = v;
      g[k * d + j] = v;
    }
  }
  return g;
}

/**
 * A lower-triangular `L` with `L Lᵀ = S` for a symmetric positive-semidefinite `S` (`d × d`):
 * pivots at or below `d · eps · max diag` are treated as zero (their column of `L` is zero), so a
 * singular covariance still factors.
 */
export function choleskyPsd(s: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  let maxDiag = 0;
  for (let i = 0; i < d; i++) maxDiag = Math.max(maxDiag, s[i * d + i]);
  const tol = d * 2.220446049250313e-16 * maxDiag;
  for (let j = 0; j < d; j++) {
    let sum = s[j * d + j];
    for (let k = 0; k < j; k++) sum -= l[j * d + k] * l[j * d + k];
    if (sum <= tol) continue; // a zero pivot: the column stays zero
    const ljj = Math.sqrt(sum);
    l[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let v = s[i * d + j];
      for (let k = 0; k < j; k++) v -= l[i * d + k] * l[j * d + k];
      l[i * d + j] = v / ljj;
    }
  }
  return l;
}

/** `A Bᵀ` for `A` (`p × r`) and `B` (`q × r`): a `p × q` matrix of row dot products. */
export function timesTranspose(
  a: Float64Array,
  b: Float64Array,
  p: number,
  q: number,
  r: number,
): Float64Array {
  const out = new Float64Array(p * q);
  for (let i = 0; i < p; i++) for (let j = 0; j < q; j++) out[i * q + j] = dot(a, i * r, b, j * r, r);
  return out;
}

/**
 * Eigenvalues of a symmetric `n × n` matrix (not modified), ascending: Householder reduction to
 * tridiagonal form, then implicit QL with Wilkinson shifts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { symmetricEigenvalues } from "./linalg.ts";
 * const ev = symmetricEigenvalues(Float64Array.from([2, 1, 0, 1, 2, 0, 0, 0, 5]), 3);
 * assert.deepEqual(ev.map((v) => Math.round(v * 1e12) / 1e12), [1, 3, 5]);
 * ```
 */
export function symmetricEigenvalues(m: Float64Array, n: number): number[] {
  const a = Float64Array.from(m);
  const diag = new Float64Array(n), off = new Float64Array(n);
  const v = new Float64Array(n), p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) {
    // Householder vector for column k below the diagonal.
    let norm = 0;
    for (let i = k + 1; i < n; i++) norm += a[i * n + k] ** 2;
    norm = Math.sqrt(norm);
    const x0 = a[(k + 1) * n + k];
    const alpha = x0 > 0 ? -norm : norm;
    off[k] = alpha;
    if (norm === 0) continue;
    let vn = 0;
    for (let i = k + 1; i < n; i++) {
      v[i] = a[i * n + k] - (i === k + 1 ? alpha : 0);
      vn += v[i] * v[i];
    }
    if (vn === 0) continue;
    vn = Math.sqrt(vn);
    for (let i = k + 1; i < n; i++) v[i] /= vn;
    // p = A v, w = p − (vᵀp) v, A ← A − 2 v wᵀ − 2 w vᵀ on the trailing block.
    let vp = 0;
    for (let i = k + 1; i < n; i++) {
      const s = dot(a, i * n + k + 1, v, k + 1, n - k - 1);
      p[i] = s;
      vp += v[i] * s;
    }
    for (let i = k + 1; i < n; i++) p[i] -= vp * v[i];
    for (let i = k + 1; i < n; i++) {
      const row = i * n, vi = v[i], pi = p[i];
      for (let j = k + 1; j < n; j++) a[row + j] -= 2 * (vi * p[j] + pi * v[j]);
    }
  }
  for (let i = 0; i < n; i++) diag[i] = a[i * n + i];
  if (n >= 2) off[n - 2] = a[(n - 1) * n + (n - 2)];
  off[n - 1] = 0;
  tridiagonalQl(diag, off, n);
  return Array.from(diag).sort((x, y) => x - y);
}

/** Implicit QL on a symmetric tridiagonal matrix (`d` diagonal, `e[i]` between `i` and `i+1`); eigenvalues into `d`. */
function tridiagonalQl(d: Float64Array, e: Float64Array, n: number): void {
  const EPS = 2.220446049250313e-16;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= EPS * dd) break;
      }
      if (m === l) break;
      if (iter++ === 100) throw new Error("symmetricEigenvalues: QL iteration did not converge");
      let g = (d[l + 1] - d[l]) / (2 * e[l]);
      let r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
      let s = 1, c = 1, p = 0;
      let i = m - 1;
      let underflow = false;
      for (; i >= l; i--) {
        const f = s * e[i], b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          d[i + 1] -= p;
          e[m] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
      }
      if (underflow) continue;
      d[l] -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
}

/**
 * Singular values of an `r × c` matrix by one-sided (Hestenes) Jacobi: accurate to rounding
 * relative to the largest, also for zero singular values (an eigen route through `MᵀM` only gets
 * those to √ε). O(r·c²) per sweep: meant for matrices up to a few hundred columns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { singularValues } from "./linalg.ts";
 * const s = singularValues(Float64Array.from([3, 0, 0, 0, 2, 0]), 2, 3);
 * assert.deepEqual(s.map((v) => Math.round(v * 1e12) / 1e12), [3, 2]);
 * ```
 */
export function singularValues(m: Float64Array, r: number, c: number): number[] {
  // Columns of the orientation with fewer columns, each contiguous.
  const wide = c > r;
  const cols = wide ? r : c, len = wide ? c : r;
  const a = wide ? Float64Array.from(m) : transpose(m, r, c);
  const EPS = 2.220446049250313e-16;
  for (let sweep = 0; sweep < 80; sweep++) {
    let rotated = false;
    for (let p = 0; p < cols - 1; p++) {
      for (let q = p + 1; q < cols; q++) {
        const ip = p * len, iq = q * len;
        const alpha = dot(a, ip, a, ip, len), beta = dot(a, iq, a, iq, len), gamma = dot(a, ip, a, iq, len);
        if (gamma === 0 || Math.abs(gamma) <= EPS * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const cs = 1 / Math.sqrt(1 + t * t), sn = cs * t;
        for (let i = 0; i < len; i++) {
          const x = a[ip + i], y = a[iq + i];
          a[ip + i] = cs * x - sn * y;
          a[iq + i] = sn * x + cs * y;
        }
      }
    }
    if (!rotated) break;
  }
  const out: number[] = [];
  for (let j = 0; j < cols; j++) out.push(Math.sqrt(dot(a, j * len, a, j * len, len)));
  return out.sort((x, y) => y - x);
}
