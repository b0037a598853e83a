/** The colour schemes the dashboard offers. */
export type Theme = 'light' | 'dark';

/** localStorage key of an explicit choice; absent = follow the system. */
export const THEME_STORAGE_KEY = 'freshet-theme';

/**
 * Runs in <head> before the first paint, so a stored choice never flashes the
 * other theme. Without a stored choice, CSS follows prefers-color-scheme.
 */
export const themeBootScript = `try{var t=localStorage.getItem('${THEME_STORAGE_KEY}');if(t==='light'||t==='dark')document.documentElement.dataset.theme=t}catch(e){}`;
