/**
 * Python's repr() (= str()) of a float: the shortest digits that read back to the same double
 * (JavaScript's toExponential() picks the same ones), `1.0` for a whole number, exponent form below
 * 1e-4 and from 1e16 (`1e-05`, `1.5e+16`), `nan`, `inf`, `-inf`, `-0.0`. The digits are placed,
 * never rounded again (toFixed rounds an exact tie such as 1039666357341.90625 up, where
 * Python's shortest digits give 1039666357341.9062).
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  const [mantissa, exp] = Math.abs(x).toExponential().split("e") as [string, string];
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${sign}${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  const digits = mantissa.replace(".", "");
  if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
  const whole = digits.slice(0, e + 1).padEnd(e + 1, "0");
  const fraction = digits.slice(e + 1);
  return `${sign}${whole}.${fraction === "" ? "0" : fraction}`;
}
