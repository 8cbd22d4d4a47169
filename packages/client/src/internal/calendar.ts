/** Days in a month of the proleptic Gregorian calendar (`month` from 1 to 12). */
export const daysInMonth = (year: number, month: number): number =>
  month === 2
    ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 29 : 28
    : month === 4 || month === 6 || month === 9 || month === 11
    ? 30
    : 31

/**
 * The number written by the `count` ASCII digits of `s` from `start`, or -1
 * when any of them is not one. Read by char codes: job ids and timestamps
 * are read on every status.
 */
export const digits = (s: string, start: number, count: number): number => {
  let n = 0
  for (let i = start; i < start + count; i++) {
    const d = s.charCodeAt(i) - 48
    if (!(d >= 0 && d <= 9)) return -1
    n = n * 10 + d
  }
  return n
}

/**
 * Whether these are a real date and time (30 February, hour 24 and second 60
 * are not), every field as `digits` read it: -1 where it was not a number.
 */
export const isRealDateTime = (
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number
): boolean =>
  year >= 0 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month) &&
  hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59 && second >= 0 && second <= 59
