/** Days in a month of the proleptic Gregorian calendar (`month` from 1 to 12). */
export const daysInMonth = (year: number, month: number): number =>
  month === 2
    ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)) ? 29 : 28
    : month === 4 || month === 6 || month === 9 || month === 11
    ? 30
    : 31
