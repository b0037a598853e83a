export { default } from '@freshet/config/prettier';
