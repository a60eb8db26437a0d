/** Each word with a capital first letter and the rest in lower case; spacing kept. */
export function titleCase(text: string): string {
  return text.replace(/\S+/g, (word) => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase());
}
