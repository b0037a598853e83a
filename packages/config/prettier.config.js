/** Prettier settings shared by the whole repository. */
export default {
  printWidth: 110,
  singleQuote: true,
  trailingComma: 'all',
};
